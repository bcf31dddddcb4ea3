from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

CAPTURED_VARIABLE_KIND_DEFINITION: CapturedVariableKind
CAPTURED_VARIABLE_KIND_MODULE: CapturedVariableKind
CAPTURED_VARIABLE_KIND_UNSPECIFIED: CapturedVariableKind
CAPTURED_VARIABLE_KIND_VALUE: CapturedVariableKind
CHECKPOINT_STATE_CAPTURING: CheckpointState
CHECKPOINT_STATE_FAILED: CheckpointState
CHECKPOINT_STATE_READY: CheckpointState
CHECKPOINT_STATE_UNSPECIFIED: CheckpointState
DESCRIPTOR: _descriptor.FileDescriptor

class CapturedVariable(_message.Message):
    __slots__ = ["kind", "name", "type_name"]
    KIND_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_NAME_FIELD_NUMBER: _ClassVar[int]
    kind: CapturedVariableKind
    name: str
    type_name: str
    def __init__(self, name: _Optional[str] = ..., type_name: _Optional[str] = ..., kind: _Optional[_Union[CapturedVariableKind, str]] = ...) -> None: ...

class CellSources(_message.Message):
    __slots__ = ["cells"]
    CELLS_FIELD_NUMBER: _ClassVar[int]
    cells: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, cells: _Optional[_Iterable[str]] = ...) -> None: ...

class Checkpoint(_message.Message):
    __slots__ = ["cell_sources", "create_time", "description", "digest", "environment_image", "environment_image_id", "etag", "folder_id", "id", "module_versions", "name", "python_version", "served_cell_index", "size_bytes", "state", "variables"]
    class ModuleVersionsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CELL_SOURCES_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_IMAGE_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_IMAGE_ID_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    FOLDER_ID_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    MODULE_VERSIONS_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PYTHON_VERSION_FIELD_NUMBER: _ClassVar[int]
    SERVED_CELL_INDEX_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    VARIABLES_FIELD_NUMBER: _ClassVar[int]
    cell_sources: _containers.RepeatedScalarFieldContainer[str]
    create_time: _timestamp_pb2.Timestamp
    description: str
    digest: str
    environment_image: str
    environment_image_id: str
    etag: str
    folder_id: str
    id: str
    module_versions: _containers.ScalarMap[str, str]
    name: str
    python_version: str
    served_cell_index: int
    size_bytes: int
    state: CheckpointState
    variables: _containers.RepeatedCompositeFieldContainer[CapturedVariable]
    def __init__(self, id: _Optional[str] = ..., folder_id: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., cell_sources: _Optional[_Iterable[str]] = ..., served_cell_index: _Optional[int] = ..., state: _Optional[_Union[CheckpointState, str]] = ..., digest: _Optional[str] = ..., size_bytes: _Optional[int] = ..., python_version: _Optional[str] = ..., variables: _Optional[_Iterable[_Union[CapturedVariable, _Mapping]]] = ..., create_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ..., environment_image: _Optional[str] = ..., environment_image_id: _Optional[str] = ..., module_versions: _Optional[_Mapping[str, str]] = ...) -> None: ...

class CheckpointState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class CapturedVariableKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
