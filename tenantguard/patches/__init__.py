"""The schema patch pipeline: runner, verify/sync, patch rules."""

from __future__ import annotations

from tenantguard.patches.files import PatchError, PatchFile, read_patches
from tenantguard.patches.runner import PatchRun, apply_patches, patch_status

__all__ = ["PatchError", "PatchFile", "PatchRun", "apply_patches", "patch_status", "read_patches"]
