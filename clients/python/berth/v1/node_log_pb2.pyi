from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ListNodeEventsRequest(_message.Message):
    __slots__ = ["end_time", "instance_id", "node_id", "page_size", "page_token", "start_time"]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    end_time: _timestamp_pb2.Timestamp
    instance_id: str
    node_id: str
    page_size: int
    page_token: str
    start_time: _timestamp_pb2.Timestamp
    def __init__(self, node_id: _Optional[str] = ..., instance_id: _Optional[str] = ..., start_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListNodeEventsResponse(_message.Message):
    __slots__ = ["events", "next_page_token"]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[NodeEvent]
    next_page_token: str
    def __init__(self, events: _Optional[_Iterable[_Union[NodeEvent, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListNodeLogsRequest(_message.Message):
    __slots__ = ["contains", "end_time", "instance_id", "node_id", "page_size", "page_token", "start_time", "stream"]
    CONTAINS_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    STREAM_FIELD_NUMBER: _ClassVar[int]
    contains: str
    end_time: _timestamp_pb2.Timestamp
    instance_id: str
    node_id: str
    page_size: int
    page_token: str
    start_time: _timestamp_pb2.Timestamp
    stream: str
    def __init__(self, node_id: _Optional[str] = ..., instance_id: _Optional[str] = ..., stream: _Optional[str] = ..., start_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., contains: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListNodeLogsResponse(_message.Message):
    __slots__ = ["entries", "next_page_token"]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[NodeLogEntry]
    next_page_token: str
    def __init__(self, entries: _Optional[_Iterable[_Union[NodeLogEntry, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class NodeEvent(_message.Message):
    __slots__ = ["id", "instance_id", "message", "node_id", "reason", "time", "type"]
    ID_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    id: str
    instance_id: str
    message: str
    node_id: str
    reason: str
    time: _timestamp_pb2.Timestamp
    type: str
    def __init__(self, id: _Optional[str] = ..., node_id: _Optional[str] = ..., instance_id: _Optional[str] = ..., time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., type: _Optional[str] = ..., reason: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class NodeLogEntry(_message.Message):
    __slots__ = ["id", "instance_id", "node_id", "stream", "text", "time"]
    ID_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    STREAM_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    id: str
    instance_id: str
    node_id: str
    stream: str
    text: str
    time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., node_id: _Optional[str] = ..., instance_id: _Optional[str] = ..., stream: _Optional[str] = ..., time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., text: _Optional[str] = ...) -> None: ...

class StreamNodeLogsRequest(_message.Message):
    __slots__ = ["contains", "follow", "instance_id", "node_id", "start_time", "stream", "tail_lines"]
    CONTAINS_FIELD_NUMBER: _ClassVar[int]
    FOLLOW_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    STREAM_FIELD_NUMBER: _ClassVar[int]
    TAIL_LINES_FIELD_NUMBER: _ClassVar[int]
    contains: str
    follow: bool
    instance_id: str
    node_id: str
    start_time: _timestamp_pb2.Timestamp
    stream: str
    tail_lines: int
    def __init__(self, node_id: _Optional[str] = ..., instance_id: _Optional[str] = ..., stream: _Optional[str] = ..., start_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., tail_lines: _Optional[int] = ..., follow: bool = ..., contains: _Optional[str] = ...) -> None: ...
