from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

ALIAS_ACCESS_PRIVATE: AliasAccess
ALIAS_ACCESS_PUBLIC: AliasAccess
ALIAS_ACCESS_UNSPECIFIED: AliasAccess
DESCRIPTOR: _descriptor.FileDescriptor

class Alias(_message.Message):
    __slots__ = ["access", "create_time", "description", "etag", "folder_id", "id", "metadata", "name", "targets", "update_time"]
    class MetadataEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ACCESS_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    FOLDER_ID_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    TARGETS_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    access: AliasAccess
    create_time: _timestamp_pb2.Timestamp
    description: str
    etag: str
    folder_id: str
    id: str
    metadata: _containers.ScalarMap[str, str]
    name: str
    targets: _containers.RepeatedCompositeFieldContainer[AliasTarget]
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., folder_id: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., targets: _Optional[_Iterable[_Union[AliasTarget, _Mapping]]] = ..., metadata: _Optional[_Mapping[str, str]] = ..., access: _Optional[_Union[AliasAccess, str]] = ..., create_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ...) -> None: ...

class AliasTarget(_message.Message):
    __slots__ = ["node_id", "weight"]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    weight: int
    def __init__(self, node_id: _Optional[str] = ..., weight: _Optional[int] = ...) -> None: ...

class AliasAccess(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
