"""The schema patch pipeline: runner, verify/sync, patch rules."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tenantguard.patches.files import PatchError, PatchFile, read_patches

if TYPE_CHECKING:
    from tenantguard.patches.runner import PatchRun, apply_patches, patch_status

__all__ = ["PatchError", "PatchFile", "PatchRun", "apply_patches", "patch_status", "read_patches"]


def __getattr__(name: str) -> Any:
    # the runner needs asyncpg (the [runtime] extra); the patch rules of the linter do not
    if name in ("PatchRun", "apply_patches", "patch_status"):
        from tenantguard.patches import runner

        return getattr(runner, name)
    raise AttributeError(f"module 'tenantguard.patches' has no attribute {name!r}")
