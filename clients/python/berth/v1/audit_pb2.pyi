from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AuditRecord(_message.Message):
    __slots__ = ["folder_id", "id", "key_id", "message", "method", "principal_id", "principal_name", "request_id", "resource_id", "result", "time"]
    FOLDER_ID_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    PRINCIPAL_ID_FIELD_NUMBER: _ClassVar[int]
    PRINCIPAL_NAME_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_ID_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    folder_id: str
    id: str
    key_id: str
    message: str
    method: str
    principal_id: str
    principal_name: str
    request_id: str
    resource_id: str
    result: str
    time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., folder_id: _Optional[str] = ..., principal_id: _Optional[str] = ..., principal_name: _Optional[str] = ..., key_id: _Optional[str] = ..., method: _Optional[str] = ..., resource_id: _Optional[str] = ..., result: _Optional[str] = ..., message: _Optional[str] = ..., request_id: _Optional[str] = ..., time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
