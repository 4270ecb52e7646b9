"""Build the API reference (pdoc) and check it: ``python docs/build_api.py [OUT]``.

Every public module of the package (each module or package whose name has no
part starting with "_", except the internal ones below) is rendered to HTML in
OUT (default ``docs/api/``, not checked in). A warning from pdoc (an annotation
it cannot resolve, a name in ``__all__`` that does not exist) is an error, and
so is a public name without a docstring, so the reference cannot rot:
tests/test_api_docs.py runs this in CI.
"""

from __future__ import annotations

import pkgutil
import sys
import warnings
from pathlib import Path

import pdoc
import pdoc.doc

import fastsession

# Modules of the request path: their public names are re-exported by
# `fastsession` (and documented there) or are internals.
INTERNAL = {
    "asgi", "wsgi", "engine", "options", "cookie_options", "record", "secure",
    "session", "session_cookie", "replaced", "demo", "__main__",
}  # fmt: skip


def public_modules() -> list[str]:
    names = ["fastsession"]
    for info in pkgutil.walk_packages(fastsession.__path__, "fastsession."):
        parts = info.name.split(".")[1:]
        if any(p.startswith("_") for p in parts) or parts[0] in INTERNAL:
            continue
        names.append(info.name)
    return names


def undocumented(modules: list[str]) -> list[str]:
    """Public names (and public methods of the package's classes) without a docstring.

    A plain value (not a class or function) may instead be described in its
    module's docstring, by its name in backquotes."""
    missing = []
    for name in modules:
        module = pdoc.doc.Module.from_name(name)
        if not module.docstring.strip():
            missing.append(name)
        for member in module.members.values():
            if member.name.startswith("_") and member.name != "__version__":
                continue
            described = isinstance(member, pdoc.doc.Variable) and (
                f"`{member.name}`" in module.docstring
            )
            if not member.docstring.strip() and not described:
                missing.append(member.fullname)
            if name == "fastsession" and isinstance(member, pdoc.doc.Class):
                missing += [m.fullname for m in _methods(member) if not m.docstring.strip()]
    return missing


def _methods(cls: pdoc.doc.Class) -> list[pdoc.doc.Function]:
    """The public methods of a package-level class that its public modules define
    (the kernel cores' own methods are internals, documented in the kernels)."""
    out = []
    for member in cls.members.values():
        module = member.taken_from[0]
        private = any(part.startswith("_") for part in module.split(".")[1:])
        if (
            isinstance(member, pdoc.doc.Function)
            and not member.name.startswith("_")
            and module.startswith("fastsession")
            and (not private or module == "fastsession._types")
        ):
            out.append(member)
    return out


def build(out: Path) -> list[str]:
    """Render the reference into ``out``; the problems found (empty: none)."""
    # The package's names load on first use; pdoc reads the module's __dict__.
    for name in fastsession.__all__:
        getattr(fastsession, name)
    modules = public_modules()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pdoc.render.configure(docformat="restructuredtext", search=True)
        # pdoc adds the submodules a package's __all__ names by itself.
        listed = {f"fastsession.{n}" for n in fastsession.__all__}
        pdoc.pdoc(*[m for m in modules if m not in listed], output_directory=out)
        return undocumented(modules)


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else Path(__file__).resolve().parent / "api"
    try:
        problems = build(out)
    except Warning as warning:
        print(f"docs/build_api.py: pdoc warned: {warning}", file=sys.stderr)
        return 1
    if problems:
        print("docs/build_api.py: public names without a docstring:", file=sys.stderr)
        print("\n".join(f"  {p}" for p in problems), file=sys.stderr)
        return 1
    print(f"API reference: {out / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
