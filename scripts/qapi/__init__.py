"""kvmpc's QAPI code generator (see docs/qapi.md)."""
