from berth.v1 import secret_pb2 as _secret_pb2
from google.api import annotations_pb2 as _annotations_pb2
from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.protobuf import empty_pb2 as _empty_pb2
from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AddSecretVersionRequest(_message.Message):
    __slots__ = ["entries", "etag", "secret_id"]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    SECRET_ID_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[_secret_pb2.SecretEntry]
    etag: str
    secret_id: str
    def __init__(self, secret_id: _Optional[str] = ..., entries: _Optional[_Iterable[_Union[_secret_pb2.SecretEntry, _Mapping]]] = ..., etag: _Optional[str] = ...) -> None: ...

class CreateSecretRequest(_message.Message):
    __slots__ = ["description", "entries", "folder_id", "labels", "name"]
    class LabelsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    FOLDER_ID_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    description: str
    entries: _containers.RepeatedCompositeFieldContainer[_secret_pb2.SecretEntry]
    folder_id: str
    labels: _containers.ScalarMap[str, str]
    name: str
    def __init__(self, folder_id: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., entries: _Optional[_Iterable[_Union[_secret_pb2.SecretEntry, _Mapping]]] = ...) -> None: ...

class DeleteSecretRequest(_message.Message):
    __slots__ = ["etag", "secret_id"]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    SECRET_ID_FIELD_NUMBER: _ClassVar[int]
    etag: str
    secret_id: str
    def __init__(self, secret_id: _Optional[str] = ..., etag: _Optional[str] = ...) -> None: ...

class GetSecretRequest(_message.Message):
    __slots__ = ["secret_id"]
    SECRET_ID_FIELD_NUMBER: _ClassVar[int]
    secret_id: str
    def __init__(self, secret_id: _Optional[str] = ...) -> None: ...

class ListSecretsRequest(_message.Message):
    __slots__ = ["filter", "folder_id", "page_size", "page_token"]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    FOLDER_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    filter: str
    folder_id: str
    page_size: int
    page_token: str
    def __init__(self, folder_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., filter: _Optional[str] = ...) -> None: ...

class ListSecretsResponse(_message.Message):
    __slots__ = ["next_page_token", "secrets"]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    SECRETS_FIELD_NUMBER: _ClassVar[int]
    next_page_token: str
    secrets: _containers.RepeatedCompositeFieldContainer[_secret_pb2.Secret]
    def __init__(self, secrets: _Optional[_Iterable[_Union[_secret_pb2.Secret, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdateSecretRequest(_message.Message):
    __slots__ = ["secret", "update_mask"]
    SECRET_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    secret: _secret_pb2.Secret
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, secret: _Optional[_Union[_secret_pb2.Secret, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...
