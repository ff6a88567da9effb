"""After the search: freeze the coefficients, scale them over φ into a measured family, export it
as JSON (and load it back), compare compound scaling with single-dimension scaling, and check the choice one φ up."""

from gridsearch._lazy import attach

__getattr__, __dir__, __all__ = attach(__name__, {
    "_freeze": ["Frozen", "freeze", "store_frozen", "stored_frozen", "FROZEN_ATTR"],
    "_scale": ["Family", "scale", "parse_phis", "stored_family", "FAMILY_ATTR"],
    "_export": ["Exported", "load", "document", "member_dict", "from_stored", "write", "schema",
                "check_writable", "provenance", "trained_fidelity", "STORED_KEYS", "SCHEMA"],
    "_compare": ["Compare", "Entry", "COMPOUND", "check_phi", "compound_point", "compare_config",
                 "matched"],
    "_verify": ["Verify", "VerifyOutcome", "VerifyRow", "verify", "EFFICIENTNET"],
})
