from google.protobuf import any_pb2 as _any_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.rpc import status_pb2 as _status_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CheckpointOperationMetadata(_message.Message):
    __slots__ = ["checkpoint_id", "progress"]
    CHECKPOINT_ID_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    checkpoint_id: str
    progress: str
    def __init__(self, checkpoint_id: _Optional[str] = ..., progress: _Optional[str] = ...) -> None: ...

class NodeOperationMetadata(_message.Message):
    __slots__ = ["node_id", "progress"]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    progress: str
    def __init__(self, node_id: _Optional[str] = ..., progress: _Optional[str] = ...) -> None: ...

class Operation(_message.Message):
    __slots__ = ["create_time", "description", "done", "error", "folder_id", "id", "metadata", "modify_time", "resource_id", "response"]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    DONE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    FOLDER_ID_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    MODIFY_TIME_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_ID_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_FIELD_NUMBER: _ClassVar[int]
    create_time: _timestamp_pb2.Timestamp
    description: str
    done: bool
    error: _status_pb2.Status
    folder_id: str
    id: str
    metadata: _any_pb2.Any
    modify_time: _timestamp_pb2.Timestamp
    resource_id: str
    response: _any_pb2.Any
    def __init__(self, id: _Optional[str] = ..., folder_id: _Optional[str] = ..., description: _Optional[str] = ..., resource_id: _Optional[str] = ..., create_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., modify_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., done: bool = ..., metadata: _Optional[_Union[_any_pb2.Any, _Mapping]] = ..., error: _Optional[_Union[_status_pb2.Status, _Mapping]] = ..., response: _Optional[_Union[_any_pb2.Any, _Mapping]] = ...) -> None: ...
