"""The spec language: loader (ruamel.yaml, positions) -> documents (pydantic) -> compile -> Spec.

Entry point: ``reconciler.spec.load.load_spec``. Modules: ``loader`` (files -> plain data and
positions), ``documents`` (root model, located validation errors), ``load`` (the pipeline),
``schema`` (JSON Schema), ``spec`` (the ``Spec`` result).
"""
