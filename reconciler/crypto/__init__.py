"""Phase-compatible key handling (libsodium through PyNaCl): primitives, token parsing, keyring
recovery, environment key unwrap and re-wrap, password-login derivation."""
