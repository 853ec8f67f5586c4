"""How files come in: the upload pipeline (quarantine → validate → ready), its checks, images."""
