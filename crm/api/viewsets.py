"""The base of every API viewset: scoped queryset, input validated by a serializer, writes through services."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import Model, QuerySet
from django.utils import translation
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from crm.api.fields import ErrorSerializer

ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="Invalid input or a refused business rule."),
    404: OpenApiResponse(ErrorSerializer, description="No such record in your scope."),
}
TRANSITION_ERRORS = {
    **ERRORS,
    409: OpenApiResponse(ErrorSerializer, description="The record's state does not allow this now."),
}


class ScopedReadViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """List and retrieve what the user may see (`visible_to`, the pages' scope), create and update through
    services. A record outside the scope is a 404 like a missing one.

    Subclasses set `serializer_class` (output), `create_serializer_class`/`update_serializer_class` (input)
    and implement `perform_create(data)` / `perform_update(record, data)` by calling one service.
    """

    create_serializer_class: type[serializers.Serializer] | None = None
    update_serializer_class: type[serializers.Serializer] | None = None

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        # A token is only known here, after UserLanguageMiddleware ran with an anonymous user: the user's
        # chosen language wins over Accept-Language for API answers too, as it does for pages.
        language = getattr(request.user, "language", "")
        if language:
            translation.activate(language)
            request.LANGUAGE_CODE = language

    def get_serializer_class(self) -> type[serializers.Serializer]:
        # The input serializers describe the request bodies in the schema; answers use `serializer_class`.
        if self.action == "create" and self.create_serializer_class:
            return self.create_serializer_class
        if self.action in ("update", "partial_update") and self.update_serializer_class:
            return self.update_serializer_class
        return self.serializer_class

    def base_queryset(self) -> QuerySet:
        return self.queryset.all()

    def get_queryset(self) -> QuerySet:
        return self.base_queryset().visible_to(self.request.user)

    # --- helpers ---------------------------------------------------------------------------------------------

    def validated(self, serializer_class: type[serializers.Serializer], *, partial: bool = False,
                  instance: Any = None, record: Any = None) -> dict[str, Any]:
        """The request body checked by `serializer_class`; `record` (the record acted on) is in its context so
        that choices can depend on it (a deal's own lost reasons)."""
        context = {**self.get_serializer_context(), "record": record if record is not None else instance}
        serializer = serializer_class(instance=instance, data=self.request.data, partial=partial, context=context)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def respond(self, record: Model, *, status_code: int = status.HTTP_200_OK,
                serializer_class: type[serializers.Serializer] | None = None) -> Response:
        """Answer with the record as the list/detail endpoints show it (re-read with their joins)."""
        serializer_class = serializer_class or self.serializer_class
        if serializer_class is self.serializer_class:
            record = self.get_queryset().filter(pk=record.pk).first() or record
        return Response(serializer_class(record, context=self.get_serializer_context()).data, status=status_code)

    def run(self, service: Callable[..., Any], *, record_arg: str, input_class: type | None = None,
            **kwargs: Any) -> Response:
        """A transition: the scoped record, the validated body, one service call with the actor."""
        record = self.get_object()
        data = self.validated(input_class, record=record) if input_class else {}
        result = service(**{record_arg: record}, actor=self.request.user, **kwargs, **data)
        return self.respond(result if isinstance(result, type(record)) else record)



class CreateThroughService:
    """POST on the list: the body checked by `create_serializer_class`, then `perform_create` (one service)."""

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        record = self.perform_create(self.validated(self.create_serializer_class))
        return self.respond(record, status_code=status.HTTP_201_CREATED)

    def perform_create(self, data: dict[str, Any]) -> Model:
        raise NotImplementedError


class UpdateThroughService:
    """PUT/PATCH on a record: `update_serializer_class`, then `perform_update` (one service)."""

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        record = self.get_object()
        data = self.validated(self.update_serializer_class, partial=kwargs.get("partial", False), instance=record)
        return self.respond(self.perform_update(record, data))

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.update(request, *args, partial=True, **kwargs)

    def perform_update(self, record: Model, data: dict[str, Any]) -> Model:
        raise NotImplementedError


class ScopedViewSet(CreateThroughService, UpdateThroughService, ScopedReadViewSet):
    """Scoped list and retrieve, create and update through services."""


def crud_schema(name: str, output: type[serializers.Serializer]) -> Callable[[type], type]:
    """Class decorator documenting the answers (and error answers) of the standard operations a viewset has."""
    operations = {
        "list": extend_schema(summary=f"List {name}", responses={200: output(many=True), 400: ERRORS[400]}),
        "retrieve": extend_schema(summary=f"Show one of the {name}", responses={200: output, 404: ERRORS[404]}),
        "create": extend_schema(summary=f"Create one of the {name}", responses={201: output, 400: ERRORS[400]}),
        "update": extend_schema(summary=f"Replace the editable fields of one of the {name}",
                                responses={200: output, **ERRORS}),
        "partial_update": extend_schema(summary=f"Change some fields of one of the {name}",
                                        responses={200: output, **ERRORS}),
    }

    def decorate(cls: type) -> type:
        return extend_schema_view(**{op: doc for op, doc in operations.items() if hasattr(cls, op)})(cls)

    return decorate


def transition(url_path: str, *, summary: str, request: Any = None, response: Any = None) -> Callable:
    """A POST action on one record named after the UI's button (`/api/leads/{id}/qualify/`)."""

    def decorate(func: Callable) -> Callable:
        documented = extend_schema(
            summary=summary, request=request, responses={200: response, **TRANSITION_ERRORS} if response else None
        )(func)
        return action(detail=True, methods=["post"], url_path=url_path)(documented)

    return decorate
