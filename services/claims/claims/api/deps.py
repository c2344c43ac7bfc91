"""Route dependencies of the claims API besides the common ones (``rcm_shared.web``): its settings, the
scrubber's resources loaded at start, and the clearinghouse connection."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from claims.adapters.clearinghouse import Adapter, adapter_for
from claims.adapters.scrub_resources import ScrubResources
from claims.config import ClaimsSettings


async def _settings(request: Request) -> ClaimsSettings:
    settings: ClaimsSettings = request.app.state.settings
    return settings


async def _scrub(request: Request) -> ScrubResources:
    resources: ScrubResources = request.app.state.scrub
    return resources


async def _clearinghouse(request: Request) -> Adapter:
    return adapter_for(request.app.state.settings)


SettingsDep = Annotated[ClaimsSettings, Depends(_settings)]
ScrubDep = Annotated[ScrubResources, Depends(_scrub)]
ClearinghouseDep = Annotated[Adapter, Depends(_clearinghouse)]
