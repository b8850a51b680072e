"""Launch buttons: off by default, and one setting in _config.yml turns one on."""

from pathlib import Path

import pytest
import yaml

from tools import FRONT_MATTER, build_small_book, small_book

ROOT = Path(__file__).resolve().parents[1]
PAGE = FRONT_MATTER + """\

# Probe

```{code-cell} ipython3
print(1 + 1)
```
"""


def test_the_book_has_no_launch_button_by_default():
    launch = yaml.safe_load((ROOT / "_config.yml").read_text())["launch_buttons"]
    assert not any(v for k, v in launch.items() if k.endswith("_url"))


@pytest.mark.slow
def test_one_setting_puts_a_colab_button_on_each_notebook_page(tmp_path):
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    launch = dict(config["launch_buttons"], colab_url="https://colab.research.google.com")
    html = build_small_book(small_book(tmp_path, PAGE, launch_buttons=launch))
    assert "colab.research.google.com/github/" in html
    assert "page.ipynb" in html
