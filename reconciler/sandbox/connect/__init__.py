"""The CommCare Connect sandbox: the automation API (POST only), the data-export API, a fake
CommCare HQ and a fake ConnectID, with a ``/_sandbox/`` control API (docs/connect-api.md)."""
