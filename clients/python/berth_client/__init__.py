"""Berth's Python client: the ``berth.v1`` gRPC stubs generated from ``proto/``
(``npm run gen``; they import as ``berth.v1.*_pb2``) and :func:`connect`, which
opens one channel with the API key on every call."""

import collections
from typing import Optional, Sequence, Tuple, Union

import grpc

from berth.v1 import (
    alias_service_pb2_grpc,
    audit_service_pb2_grpc,
    checkpoint_service_pb2_grpc,
    folder_service_pb2_grpc,
    iam_service_pb2_grpc,
    node_service_pb2_grpc,
    operation_service_pb2_grpc,
    secret_service_pb2_grpc,
    usage_service_pb2_grpc,
)

__all__ = ["Berth", "connect"]


class _CallDetails(
    collections.namedtuple("_CallDetails", ("method", "timeout", "metadata", "credentials", "wait_for_ready", "compression")),
    grpc.ClientCallDetails,
):
    pass


class _Bearer(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor):
    """Adds ``authorization: Bearer <key>`` to every call. An interceptor rather
    than call credentials, which gRPC sends only over TLS (Berth on loopback
    needs none)."""

    def __init__(self, api_key: str):
        self._header = ("authorization", f"Bearer {api_key}")

    def _with_key(self, details: grpc.ClientCallDetails) -> grpc.ClientCallDetails:
        return _CallDetails(
            details.method,
            details.timeout,
            [*(details.metadata or ()), self._header],
            details.credentials,
            getattr(details, "wait_for_ready", None),
            getattr(details, "compression", None),
        )

    def intercept_unary_unary(self, continuation, client_call_details, request):
        return continuation(self._with_key(client_call_details), request)

    def intercept_unary_stream(self, continuation, client_call_details, request):
        return continuation(self._with_key(client_call_details), request)


class Berth:
    """A stub per ``berth.v1`` service on one channel. Close it (or use it as a
    context manager) when done."""

    def __init__(self, channel: grpc.Channel):
        self.channel = channel
        self.aliases = alias_service_pb2_grpc.AliasServiceStub(channel)
        self.audit = audit_service_pb2_grpc.AuditServiceStub(channel)
        self.checkpoints = checkpoint_service_pb2_grpc.CheckpointServiceStub(channel)
        self.folders = folder_service_pb2_grpc.FolderServiceStub(channel)
        self.iam = iam_service_pb2_grpc.IamServiceStub(channel)
        self.nodes = node_service_pb2_grpc.NodeServiceStub(channel)
        self.operations = operation_service_pb2_grpc.OperationServiceStub(channel)
        self.secrets = secret_service_pb2_grpc.SecretServiceStub(channel)
        self.usage = usage_service_pb2_grpc.UsageServiceStub(channel)

    def close(self) -> None:
        self.channel.close()

    def __enter__(self) -> "Berth":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def connect(
    address: str,
    api_key: Optional[str] = None,
    tls: Union[bool, bytes, grpc.ChannelCredentials] = False,
    options: Sequence[Tuple[str, object]] = (),
) -> Berth:
    """Connects to Berth's gRPC listener (``host:port``, e.g. ``127.0.0.1:50051``).

    ``api_key``: a Berth API key (``berth_ak…``), sent on every call.
    ``tls``: False for a cleartext Berth on loopback, True to trust the
    system's CAs, the PEM bytes of the CA that signed Berth's ``--tls-cert``,
    or any ``grpc.ChannelCredentials`` (mutual TLS).
    ``options``: gRPC channel options. Nothing is dialled until the first call.
    """
    if tls is False:
        channel = grpc.insecure_channel(address, options=options)
    else:
        if tls is True:
            credentials = grpc.ssl_channel_credentials()
        elif isinstance(tls, bytes):
            credentials = grpc.ssl_channel_credentials(root_certificates=tls)
        else:
            credentials = tls
        channel = grpc.secure_channel(address, credentials, options=options)
    if api_key:
        channel = grpc.intercept_channel(channel, _Bearer(api_key))
    return Berth(channel)
