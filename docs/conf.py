"""Sphinx configuration of the a2a-kafka-sync docs (MyST Markdown, autodoc).

Build: ``sphinx-build -W --keep-going -b html docs docs/_build/html`` (tox -e docs).
"""

from __future__ import annotations

import importlib
import inspect
import os
import re
import sys

# autodoc imports the package from the repository, without installing it.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from docutils import nodes
from pydantic import BaseModel

import a2a_kafka_sync

# -- project ---------------------------------------------------------------------------------

project = "a2a-kafka-sync"
author = "the a2a-kafka-sync authors"
copyright = "the a2a-kafka-sync authors; Apache-2.0"
release = a2a_kafka_sync.__version__
version = ".".join(release.split(".")[:2])

# -- extensions ------------------------------------------------------------------------------

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
]

source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "examples"]

# MyST: ``{eval-rst}`` blocks carry the autodoc directives; heading anchors let pages
# link to sections (``[text](concepts.md#timeouts)``).
myst_enable_extensions = ["colon_fence"]
myst_heading_anchors = 3

# -- autodoc ---------------------------------------------------------------------------------

autodoc_typehints = "description"
autodoc_typehints_format = "short"
autodoc_member_order = "bysource"
autodoc_default_options = {
    "members": True,
    "show-inheritance": True,
    # pydantic's model_config is an implementation detail, not API.
    "exclude-members": "model_config",
}

# Google-style docstrings ("Args:", "Attributes:", "Returns:").
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_ivar = True

# Unresolvable references in type hints (kafka-python classes, typing aliases) are not
# errors: the API reference links what it documents and leaves the rest as text.
nitpicky = False

# -- html ------------------------------------------------------------------------------------

html_theme = "alabaster"
html_title = f"a2a-kafka-sync {release}"
html_theme_options = {
    "description": "The A2A protocol over Apache Kafka, for code that is not async",
    "fixed_sidebar": True,
}


# -- hooks -----------------------------------------------------------------------------------


def _field_descriptions(app, what, name, obj, options, lines):
    """List a pydantic model's fields, with their ``Field(description=...)``, as parameters.

    pydantic keeps each field's documentation in ``Field(description=...)`` (the
    settings of ClientConfig and ServerConfig live there), which autodoc does not
    read; without this the API reference would show the fields' names and types
    but not what they mean.
    """
    if what != "class" or not isinstance(obj, type) or not issubclass(obj, BaseModel):
        return
    documented = {m.group(1) for line in lines if (m := re.match(r":param (\w+):", line))}
    extra = [
        f":param {field}: {info.description}"
        for field, info in obj.model_fields.items()
        if info.description and field not in documented
    ]
    if extra:
        lines.extend(["", *extra])


def _resolve_reexported_names(app, env, node, contnode):
    """Link ``a2a_kafka_sync.X`` (and ``a2a_kafka_sync.mod.X``) to where X is documented.

    The package re-exports its public names, and the API reference documents each
    once, under one module; autodoc records the defining module's path too. A
    docstring that says ``:class:`~a2a_kafka_sync.KafkaClientTransport``` or
    ``a2a_kafka_sync.server.context.RequestContext`` is pointed there.
    """
    target = node.get("reftarget", "")
    if node.get("refdomain") != "py":
        return None
    if "." not in target and node.get("py:module"):  # a bare name, inside a module's docs
        target = f"{node['py:module']}.{target}"
    if not target.startswith("a2a_kafka_sync."):
        return None
    parts = target.split(".")
    for split in range(len(parts) - 1, 0, -1):  # the longest importable module prefix
        try:
            obj = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        break
    else:
        return None
    rest = parts[split:]
    for index, name in enumerate(rest):
        obj = getattr(obj, name, None)
        if isinstance(obj, type) or inspect.isfunction(obj):
            real = [obj.__module__, obj.__qualname__, *rest[index + 1 :]]
            break
    else:
        return None
    real_target = ".".join(real)
    if real_target == target:
        return None
    new = node.deepcopy()
    new["reftarget"] = real_target
    return env.get_domain("py").resolve_xref(
        env, node.get("refdoc"), app.builder, node.get("reftype"), real_target, new, contnode
    )


def _no_return_type_on_exceptions(app, domain, objtype, contentnode):
    """Drop the "Return type: None" that autodoc_typehints adds to exception classes.

    Sphinx leaves out ``__init__``'s return type for ``class`` entries but not for
    ``exception`` entries.
    """
    if domain != "py" or objtype != "exception":
        return
    for field_list in contentnode.findall(nodes.field_list):
        for field in list(field_list):
            if field[0].astext() == "rtype":
                field_list.remove(field)


def _literal_examples(app, what, name, obj, options, lines):
    """Show an indented example in a module docstring as code, even without a ``::`` before it.

    reStructuredText reads such a block as a quotation, where ``**kwargs`` in the
    code is a broken bold mark-up (a2a_kafka_sync.testing has one). Only module
    docstrings are touched; class and function docstrings are napoleon's.
    """
    if what != "module":
        return
    out: list[str] = []
    previous = ""  # the last non-blank line seen
    for index, line in enumerate(lines):
        starts_block = (
            line.strip()
            and index > 0
            and not lines[index - 1].strip()
            and _indent(line) > _indent(previous)
            and previous.strip()
            and not previous.rstrip().endswith("::")
        )
        if starts_block:
            out.extend(["::", ""])
        out.append(line)
        if line.strip():
            previous = line
    lines[:] = out


def _indent(line):
    return len(line) - len(line.lstrip())


def _undo_inline_attribute_types(app, what, name, obj, options, lines):
    """Put back a one-line attribute docstring that napoleon read as ``type: description``.

    napoleon takes the text before the first colon of an attribute's or property's
    docstring as its type, so "The consumer group in force: ``consumer_group_id``..."
    would render with a type called "The consumer group in force". A "type" with spaces
    and no brackets is prose: it is joined back to its sentence.
    """
    if what not in ("attribute", "data", "property"):
        return
    for index in range(len(lines) - 1, -1, -1):
        if lines[index].startswith(":type: "):
            head = lines[index][len(":type: ") :]
            if " " in head and not any(c in head for c in "[]|`"):
                del lines[index]
                while lines and not lines[-1].strip():
                    lines.pop()
                if lines:
                    lines[0] = f"{head}: {lines[0].lstrip()}"
            return


def _field_aliases(obj):
    """A pydantic model's wire names (camelCase aliases) -> its Python field names."""
    if not isinstance(obj, type) or not issubclass(obj, BaseModel):
        return {}
    return {
        info.alias: field
        for field, info in obj.model_fields.items()
        if info.alias and info.alias != field
    }


def _snake_case_model_signature(app, what, name, obj, options, signature, return_annotation):
    """Show an A2A model's constructor with its Python field names, not its wire names.

    pydantic builds the signature from the aliases (``Message(messageId=...)``), but
    Python code writes ``Message(message_id=...)``; both are accepted.
    """
    aliases = _field_aliases(obj) if what == "class" else {}
    if not aliases or not signature:
        return None
    names = "|".join(map(re.escape, aliases))
    pattern = re.compile(rf"(?<=[(,*\s])({names})(?=\s*[:=,)])")
    return pattern.sub(lambda m: aliases[m.group(1)], signature), return_annotation


def _snake_case_model_parameters(app, domain, objtype, contentnode):
    """Rename the parameters autodoc_typehints lists for a model the same way."""
    if domain != "py" or objtype != "class":
        return
    signature = contentnode.parent[0]
    module, fullname = signature.get("module"), signature.get("fullname")
    if not module or not fullname:
        return
    obj = importlib.import_module(module)
    for part in fullname.split("."):
        obj = getattr(obj, part, None)
    aliases = _field_aliases(obj)
    document = getattr(app.env, "current_document", None)
    store = (
        document.autodoc_annotations
        if document is not None and hasattr(document, "autodoc_annotations")
        else app.env.temp_data.get("annotations", {})
    )
    annotations = store.get(f"{module}.{fullname}")
    if aliases and annotations:
        renamed = {aliases.get(key, key): value for key, value in annotations.items()}
        annotations.clear()
        annotations.update(renamed)


def setup(app):
    app.connect("autodoc-process-docstring", _field_descriptions)
    app.connect("autodoc-process-docstring", _literal_examples)
    # after napoleon's own autodoc-process-docstring handler (priority 500)
    app.connect("autodoc-process-docstring", _undo_inline_attribute_types, priority=600)
    app.connect("autodoc-process-signature", _snake_case_model_signature)
    # before sphinx.ext.autodoc's own handler (priority 500) turns the hints into fields
    app.connect("object-description-transform", _snake_case_model_parameters, priority=400)
    app.connect("missing-reference", _resolve_reexported_names)
    app.connect("object-description-transform", _no_return_type_on_exceptions, priority=900)
