from berth.v1 import iam_pb2 as _iam_pb2
from google.api import annotations_pb2 as _annotations_pb2
from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.protobuf import empty_pb2 as _empty_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Caller(_message.Message):
    __slots__ = ["key_id", "principal", "roles"]
    class RolesEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: _iam_pb2.Role
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_iam_pb2.Role, str]] = ...) -> None: ...
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    ROLES_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    principal: _iam_pb2.Principal
    roles: _containers.ScalarMap[str, _iam_pb2.Role]
    def __init__(self, principal: _Optional[_Union[_iam_pb2.Principal, _Mapping]] = ..., key_id: _Optional[str] = ..., roles: _Optional[_Mapping[str, _iam_pb2.Role]] = ...) -> None: ...

class CreateKeyRequest(_message.Message):
    __slots__ = ["key", "principal_id"]
    KEY_FIELD_NUMBER: _ClassVar[int]
    PRINCIPAL_ID_FIELD_NUMBER: _ClassVar[int]
    key: _iam_pb2.ApiKey
    principal_id: str
    def __init__(self, principal_id: _Optional[str] = ..., key: _Optional[_Union[_iam_pb2.ApiKey, _Mapping]] = ...) -> None: ...

class CreateKeyResponse(_message.Message):
    __slots__ = ["key", "secret"]
    KEY_FIELD_NUMBER: _ClassVar[int]
    SECRET_FIELD_NUMBER: _ClassVar[int]
    key: _iam_pb2.ApiKey
    secret: str
    def __init__(self, key: _Optional[_Union[_iam_pb2.ApiKey, _Mapping]] = ..., secret: _Optional[str] = ...) -> None: ...

class CreatePrincipalRequest(_message.Message):
    __slots__ = ["principal"]
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    principal: _iam_pb2.Principal
    def __init__(self, principal: _Optional[_Union[_iam_pb2.Principal, _Mapping]] = ...) -> None: ...

class DeletePrincipalRequest(_message.Message):
    __slots__ = ["principal_id"]
    PRINCIPAL_ID_FIELD_NUMBER: _ClassVar[int]
    principal_id: str
    def __init__(self, principal_id: _Optional[str] = ...) -> None: ...

class GetCallerRequest(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class GetPrincipalRequest(_message.Message):
    __slots__ = ["principal_id"]
    PRINCIPAL_ID_FIELD_NUMBER: _ClassVar[int]
    principal_id: str
    def __init__(self, principal_id: _Optional[str] = ...) -> None: ...

class ListAccessBindingsRequest(_message.Message):
    __slots__ = ["folder_id"]
    FOLDER_ID_FIELD_NUMBER: _ClassVar[int]
    folder_id: str
    def __init__(self, folder_id: _Optional[str] = ...) -> None: ...

class ListAccessBindingsResponse(_message.Message):
    __slots__ = ["access_bindings"]
    ACCESS_BINDINGS_FIELD_NUMBER: _ClassVar[int]
    access_bindings: _containers.RepeatedCompositeFieldContainer[_iam_pb2.AccessBinding]
    def __init__(self, access_bindings: _Optional[_Iterable[_Union[_iam_pb2.AccessBinding, _Mapping]]] = ...) -> None: ...

class ListKeysRequest(_message.Message):
    __slots__ = ["page_size", "page_token", "principal_id"]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    PRINCIPAL_ID_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    principal_id: str
    def __init__(self, principal_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListKeysResponse(_message.Message):
    __slots__ = ["keys", "next_page_token"]
    KEYS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    keys: _containers.RepeatedCompositeFieldContainer[_iam_pb2.ApiKey]
    next_page_token: str
    def __init__(self, keys: _Optional[_Iterable[_Union[_iam_pb2.ApiKey, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListPrincipalsRequest(_message.Message):
    __slots__ = ["page_size", "page_token"]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListPrincipalsResponse(_message.Message):
    __slots__ = ["next_page_token", "principals"]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    PRINCIPALS_FIELD_NUMBER: _ClassVar[int]
    next_page_token: str
    principals: _containers.RepeatedCompositeFieldContainer[_iam_pb2.Principal]
    def __init__(self, principals: _Optional[_Iterable[_Union[_iam_pb2.Principal, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class RevokeKeyRequest(_message.Message):
    __slots__ = ["key_id"]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    def __init__(self, key_id: _Optional[str] = ...) -> None: ...

class UpdateAccessBindingsRequest(_message.Message):
    __slots__ = ["deltas", "folder_id"]
    DELTAS_FIELD_NUMBER: _ClassVar[int]
    FOLDER_ID_FIELD_NUMBER: _ClassVar[int]
    deltas: _containers.RepeatedCompositeFieldContainer[_iam_pb2.AccessBindingDelta]
    folder_id: str
    def __init__(self, folder_id: _Optional[str] = ..., deltas: _Optional[_Iterable[_Union[_iam_pb2.AccessBindingDelta, _Mapping]]] = ...) -> None: ...
