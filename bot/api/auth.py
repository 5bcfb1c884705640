"""Bearer API keys for the ingest API: checked before the body is read, answered 401 with a challenge."""

# No ``from __future__ import annotations``: FastAPI evaluates dependency annotations at runtime.

from collections.abc import Awaitable, Callable, Coroutine
from typing import Annotated, Any

from fastapi import HTTPException, Request, Response, Security, status
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from bot.deps import Deps
from bot.store import apikeys
from bot.store.apikeys import ApiKeyInfo

bearer = HTTPBearer(
    auto_error=False,  # we answer 401 with a WWW-Authenticate challenge ourselves
    scheme_name="ApiKey",
    bearerFormat="rhy_…",
    description="A key from `rhythm apikey create NAME`, sent as `Authorization: Bearer rhy_…`.",
)

ApiKeyDependency = Callable[[Request, HTTPAuthorizationCredentials | None], Awaitable[ApiKeyInfo]]


def unauthorized(detail: str, *, invalid_token: bool) -> HTTPException:
    challenge = 'Bearer error="invalid_token"' if invalid_token else "Bearer"  # RFC 6750 §3
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail=detail, headers={"WWW-Authenticate": challenge})


def api_key_dependency(deps: Deps) -> ApiKeyDependency:
    async def api_key(
        request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)]
    ) -> ApiKeyInfo:
        """The calling key, verified once per request (the route checks it before the body is read)."""
        known = getattr(request.state, "api_key", None)
        if isinstance(known, ApiKeyInfo):
            return known
        if credentials is None:
            raise unauthorized("an API key is required: Authorization: Bearer rhy_…", invalid_token=False)
        async with deps.sessions() as session:
            key = await apikeys.verify_key(session, credentials.credentials, now=deps.clock.now())
            await session.commit()
        if key is None:
            raise unauthorized("invalid or revoked API key", invalid_token=True)
        request.state.api_key = key
        return key

    return api_key


def auth_first_route(
    api_key: ApiKeyDependency, on_invalid_body: Callable[[RequestValidationError], HTTPException]
) -> type[APIRoute]:
    """A route class that checks the key before FastAPI reads the body (an unauthenticated caller cannot make us
    read or parse anything) and turns body validation errors into the API's own 422 format."""

    class AuthFirstRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            handler = super().get_route_handler()

            async def route(request: Request) -> Response:
                await api_key(request, await bearer(request))
                try:
                    return await handler(request)
                except RequestValidationError as exc:
                    raise on_invalid_body(exc) from None

            return route

    return AuthFirstRoute
