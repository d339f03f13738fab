"""What the provider sandboxes share: DRF-shaped error answers and pages (``wire``), injected
faults and the connection dropper (``faults``), the catch-all ASGI app (``app``), the JSON file
store (``store``) and the control routes every sandbox serves (``control``)."""
