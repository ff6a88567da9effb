"""After the search: freeze the coefficients, scale them over φ into a measured family, export it
as JSON (and load it back), compare compound scaling with single-dimension scaling, and check the choice one φ up."""

from typing import TYPE_CHECKING

from gridsearch._lazy import attach

if TYPE_CHECKING:  # the names as an editor and a type checker see them; loaded lazily below
    from gridsearch._jsonfile import check_writable as check_writable  # _export's, from here
    from gridsearch.family._compare import (
        COMPOUND as COMPOUND,
        Compare as Compare,
        Entry as Entry,
        check_phi as check_phi,
        compare_config as compare_config,
        compare_rows as compare_rows,
        compare_verdict as compare_verdict,
        compound_point as compound_point,
        matched as matched,
        unmatched_note as unmatched_note,
    )
    from gridsearch.family._export import (
        SCHEMA as SCHEMA,
        STORED_KEYS as STORED_KEYS,
        Exported as Exported,
        document as document,
        from_stored as from_stored,
        load as load,
        member_dict as member_dict,
        provenance as provenance,
        schema as schema,
        trained_fidelity as trained_fidelity,
        write as write,
    )
    from gridsearch.family._freeze import (
        FROZEN_ATTR as FROZEN_ATTR,
        Frozen as Frozen,
        freeze as freeze,
        store_frozen as store_frozen,
        stored_frozen as stored_frozen,
    )
    from gridsearch.family._scale import (
        FAMILY_ATTR as FAMILY_ATTR,
        Family as Family,
        parse_phis as parse_phis,
        scale as scale,
        stored_family as stored_family,
    )
    from gridsearch.family._verify import (
        EFFICIENTNET as EFFICIENTNET,
        Verify as Verify,
        VerifyOutcome as VerifyOutcome,
        VerifyRow as VerifyRow,
        verify as verify,
    )

__getattr__, __dir__, __all__ = attach(__name__, {
    "_freeze": ["Frozen", "freeze", "store_frozen", "stored_frozen", "FROZEN_ATTR"],
    "_scale": ["Family", "scale", "parse_phis", "stored_family", "FAMILY_ATTR"],
    "_export": ["Exported", "load", "document", "member_dict", "from_stored", "write", "schema",
                "check_writable", "provenance", "trained_fidelity", "STORED_KEYS", "SCHEMA"],
    "_compare": ["Compare", "Entry", "COMPOUND", "check_phi", "compound_point", "compare_config",
                 "matched", "compare_rows", "compare_verdict", "unmatched_note"],
    "_verify": ["Verify", "VerifyOutcome", "VerifyRow", "verify", "EFFICIENTNET"],
})
