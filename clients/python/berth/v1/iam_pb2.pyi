from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Mapping as _Mapping, Optional as _Optional, Union as _Union

ACCESS_BINDING_ACTION_ADD: AccessBindingAction
ACCESS_BINDING_ACTION_REMOVE: AccessBindingAction
ACCESS_BINDING_ACTION_UNSPECIFIED: AccessBindingAction
DESCRIPTOR: _descriptor.FileDescriptor
PRINCIPAL_KIND_SERVICE_ACCOUNT: PrincipalKind
PRINCIPAL_KIND_UNSPECIFIED: PrincipalKind
PRINCIPAL_KIND_USER: PrincipalKind
ROLE_ADMIN: Role
ROLE_DEVELOPER: Role
ROLE_UNSPECIFIED: Role
ROLE_USER: Role
ROLE_VIEWER: Role

class AccessBinding(_message.Message):
    __slots__ = ["principal_id", "role"]
    PRINCIPAL_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    principal_id: str
    role: Role
    def __init__(self, principal_id: _Optional[str] = ..., role: _Optional[_Union[Role, str]] = ...) -> None: ...

class AccessBindingDelta(_message.Message):
    __slots__ = ["action", "binding"]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    BINDING_FIELD_NUMBER: _ClassVar[int]
    action: AccessBindingAction
    binding: AccessBinding
    def __init__(self, action: _Optional[_Union[AccessBindingAction, str]] = ..., binding: _Optional[_Union[AccessBinding, _Mapping]] = ...) -> None: ...

class ApiKey(_message.Message):
    __slots__ = ["call_count", "create_time", "description", "expire_time", "id", "last_used_time", "principal_id", "rate_limit_burst", "rate_limit_per_second", "revoke_time"]
    CALL_COUNT_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    LAST_USED_TIME_FIELD_NUMBER: _ClassVar[int]
    PRINCIPAL_ID_FIELD_NUMBER: _ClassVar[int]
    RATE_LIMIT_BURST_FIELD_NUMBER: _ClassVar[int]
    RATE_LIMIT_PER_SECOND_FIELD_NUMBER: _ClassVar[int]
    REVOKE_TIME_FIELD_NUMBER: _ClassVar[int]
    call_count: int
    create_time: _timestamp_pb2.Timestamp
    description: str
    expire_time: _timestamp_pb2.Timestamp
    id: str
    last_used_time: _timestamp_pb2.Timestamp
    principal_id: str
    rate_limit_burst: int
    rate_limit_per_second: float
    revoke_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., principal_id: _Optional[str] = ..., description: _Optional[str] = ..., create_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., expire_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., revoke_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., rate_limit_per_second: _Optional[float] = ..., rate_limit_burst: _Optional[int] = ..., call_count: _Optional[int] = ..., last_used_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Principal(_message.Message):
    __slots__ = ["create_time", "description", "id", "kind", "name", "server_admin"]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    SERVER_ADMIN_FIELD_NUMBER: _ClassVar[int]
    create_time: _timestamp_pb2.Timestamp
    description: str
    id: str
    kind: PrincipalKind
    name: str
    server_admin: bool
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., kind: _Optional[_Union[PrincipalKind, str]] = ..., server_admin: bool = ..., create_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class PrincipalKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class Role(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class AccessBindingAction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
