"""Secret values in specs: ``${env:X}``, ``${file:path}``, ``!encrypted <token>``, and redaction."""
