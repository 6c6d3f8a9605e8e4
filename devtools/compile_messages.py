"""Compile every locale/*/LC_MESSAGES/django.po into its .mo with polib, so a fresh machine without
GNU gettext can refresh the committed catalogs: `python -m devtools.compile_messages`.
(`manage.py makemessages` still needs xgettext to extract strings; compiling does not.)"""

import sys
from pathlib import Path

import polib

ROOT = Path(__file__).resolve().parent.parent


def compile_all(root: Path = ROOT) -> list[Path]:
    written = []
    for po_path in sorted((root / "locale").glob("*/LC_MESSAGES/django.po")):
        mo_path = po_path.with_suffix(".mo")
        polib.pofile(str(po_path)).save_as_mofile(str(mo_path))
        written.append(mo_path)
    return written


if __name__ == "__main__":
    for path in compile_all():
        print(path.relative_to(ROOT))
    sys.exit(0)
