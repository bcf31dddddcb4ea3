from google.api import annotations_pb2 as _annotations_pb2
from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor
USAGE_GRANULARITY_DAY: UsageGranularity
USAGE_GRANULARITY_HOUR: UsageGranularity
USAGE_GRANULARITY_TOTAL: UsageGranularity
USAGE_GRANULARITY_UNSPECIFIED: UsageGranularity

class Configuration(_message.Message):
    __slots__ = ["cpu", "description", "gpu", "memory_bytes", "name", "units"]
    CPU_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    GPU_FIELD_NUMBER: _ClassVar[int]
    MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    UNITS_FIELD_NUMBER: _ClassVar[int]
    cpu: float
    description: str
    gpu: int
    memory_bytes: int
    name: str
    units: float
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., cpu: _Optional[float] = ..., memory_bytes: _Optional[int] = ..., gpu: _Optional[int] = ..., units: _Optional[float] = ...) -> None: ...

class GetUsageRequest(_message.Message):
    __slots__ = ["end_time", "folder_id", "granularity", "node_id", "start_time"]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    FOLDER_ID_FIELD_NUMBER: _ClassVar[int]
    GRANULARITY_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    end_time: _timestamp_pb2.Timestamp
    folder_id: str
    granularity: UsageGranularity
    node_id: str
    start_time: _timestamp_pb2.Timestamp
    def __init__(self, folder_id: _Optional[str] = ..., node_id: _Optional[str] = ..., start_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., granularity: _Optional[_Union[UsageGranularity, str]] = ...) -> None: ...

class GetUsageResponse(_message.Message):
    __slots__ = ["records", "total_instance_seconds", "total_units"]
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_INSTANCE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_UNITS_FIELD_NUMBER: _ClassVar[int]
    records: _containers.RepeatedCompositeFieldContainer[UsageRecord]
    total_instance_seconds: int
    total_units: float
    def __init__(self, records: _Optional[_Iterable[_Union[UsageRecord, _Mapping]]] = ..., total_instance_seconds: _Optional[int] = ..., total_units: _Optional[float] = ...) -> None: ...

class ListConfigurationsRequest(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class ListConfigurationsResponse(_message.Message):
    __slots__ = ["configurations", "raw_allowed", "raw_units"]
    CONFIGURATIONS_FIELD_NUMBER: _ClassVar[int]
    RAW_ALLOWED_FIELD_NUMBER: _ClassVar[int]
    RAW_UNITS_FIELD_NUMBER: _ClassVar[int]
    configurations: _containers.RepeatedCompositeFieldContainer[Configuration]
    raw_allowed: bool
    raw_units: str
    def __init__(self, configurations: _Optional[_Iterable[_Union[Configuration, _Mapping]]] = ..., raw_allowed: bool = ..., raw_units: _Optional[str] = ...) -> None: ...

class UsageRecord(_message.Message):
    __slots__ = ["end_time", "instance_seconds", "node_id", "start_time", "units"]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    UNITS_FIELD_NUMBER: _ClassVar[int]
    end_time: _timestamp_pb2.Timestamp
    instance_seconds: int
    node_id: str
    start_time: _timestamp_pb2.Timestamp
    units: float
    def __init__(self, node_id: _Optional[str] = ..., start_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., instance_seconds: _Optional[int] = ..., units: _Optional[float] = ...) -> None: ...

class UsageGranularity(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
