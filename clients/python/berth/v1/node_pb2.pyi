from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor
ENDPOINT_TYPE_GRPC: EndpointType
ENDPOINT_TYPE_HTTP: EndpointType
ENDPOINT_TYPE_UNSPECIFIED: EndpointType
HEALTH_CHECK_TYPE_GRPC: HealthCheckType
HEALTH_CHECK_TYPE_HTTP: HealthCheckType
HEALTH_CHECK_TYPE_UNSPECIFIED: HealthCheckType
INSTANCE_STATE_CREATED: InstanceState
INSTANCE_STATE_DELETING: InstanceState
INSTANCE_STATE_HEALTHY: InstanceState
INSTANCE_STATE_PREPARING: InstanceState
INSTANCE_STATE_STARTED: InstanceState
INSTANCE_STATE_UNDEFINED: InstanceState
INSTANCE_STATE_UNHEALTHY: InstanceState
INSTANCE_STATE_UNSPECIFIED: InstanceState
NODE_STATE_CREATED: NodeState
NODE_STATE_DELETING: NodeState
NODE_STATE_HEALTHY: NodeState
NODE_STATE_SUSPENDED: NodeState
NODE_STATE_UNHEALTHY: NodeState
NODE_STATE_UNSPECIFIED: NodeState
VARIABLE_TYPE_BOOL: VariableType
VARIABLE_TYPE_BYTES: VariableType
VARIABLE_TYPE_DICT: VariableType
VARIABLE_TYPE_FLOAT: VariableType
VARIABLE_TYPE_INT: VariableType
VARIABLE_TYPE_LIST: VariableType
VARIABLE_TYPE_LIST_BOOL: VariableType
VARIABLE_TYPE_LIST_BYTES: VariableType
VARIABLE_TYPE_LIST_FLOAT: VariableType
VARIABLE_TYPE_LIST_INT: VariableType
VARIABLE_TYPE_LIST_STR: VariableType
VARIABLE_TYPE_STR: VariableType
VARIABLE_TYPE_UNSPECIFIED: VariableType

class Autoscaling(_message.Message):
    __slots__ = ["scale_down_stabilization", "scale_to_zero_after", "target_in_flight"]
    SCALE_DOWN_STABILIZATION_FIELD_NUMBER: _ClassVar[int]
    SCALE_TO_ZERO_AFTER_FIELD_NUMBER: _ClassVar[int]
    TARGET_IN_FLIGHT_FIELD_NUMBER: _ClassVar[int]
    scale_down_stabilization: _duration_pb2.Duration
    scale_to_zero_after: _duration_pb2.Duration
    target_in_flight: float
    def __init__(self, target_in_flight: _Optional[float] = ..., scale_down_stabilization: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., scale_to_zero_after: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class CheckpointNodeSpec(_message.Message):
    __slots__ = ["checkpoint_id", "environment_image", "input_variables", "output_variables"]
    CHECKPOINT_ID_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_IMAGE_FIELD_NUMBER: _ClassVar[int]
    INPUT_VARIABLES_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_VARIABLES_FIELD_NUMBER: _ClassVar[int]
    checkpoint_id: str
    environment_image: str
    input_variables: _containers.RepeatedCompositeFieldContainer[Variable]
    output_variables: _containers.RepeatedCompositeFieldContainer[Variable]
    def __init__(self, checkpoint_id: _Optional[str] = ..., input_variables: _Optional[_Iterable[_Union[Variable, _Mapping]]] = ..., output_variables: _Optional[_Iterable[_Union[Variable, _Mapping]]] = ..., environment_image: _Optional[str] = ...) -> None: ...

class Condition(_message.Message):
    __slots__ = ["last_transition_time", "message", "reason", "status", "type"]
    LAST_TRANSITION_TIME_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    last_transition_time: _timestamp_pb2.Timestamp
    message: str
    reason: str
    status: bool
    type: str
    def __init__(self, type: _Optional[str] = ..., status: bool = ..., reason: _Optional[str] = ..., message: _Optional[str] = ..., last_transition_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ContainerSecurity(_message.Message):
    __slots__ = ["cap_add", "cap_drop", "read_only_root_filesystem", "tmpfs", "user"]
    CAP_ADD_FIELD_NUMBER: _ClassVar[int]
    CAP_DROP_FIELD_NUMBER: _ClassVar[int]
    READ_ONLY_ROOT_FILESYSTEM_FIELD_NUMBER: _ClassVar[int]
    TMPFS_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    cap_add: _containers.RepeatedScalarFieldContainer[str]
    cap_drop: _containers.RepeatedScalarFieldContainer[str]
    read_only_root_filesystem: bool
    tmpfs: _containers.RepeatedCompositeFieldContainer[TmpfsMount]
    user: str
    def __init__(self, user: _Optional[str] = ..., cap_add: _Optional[_Iterable[str]] = ..., cap_drop: _Optional[_Iterable[str]] = ..., read_only_root_filesystem: bool = ..., tmpfs: _Optional[_Iterable[_Union[TmpfsMount, _Mapping]]] = ...) -> None: ...

class DockerNodeSpec(_message.Message):
    __slots__ = ["args", "command", "endpoint", "env", "env_from_secrets", "health_check", "image", "registry_secret_id", "security", "telemetry"]
    class EnvEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ARGS_FIELD_NUMBER: _ClassVar[int]
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    ENDPOINT_FIELD_NUMBER: _ClassVar[int]
    ENV_FIELD_NUMBER: _ClassVar[int]
    ENV_FROM_SECRETS_FIELD_NUMBER: _ClassVar[int]
    HEALTH_CHECK_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    REGISTRY_SECRET_ID_FIELD_NUMBER: _ClassVar[int]
    SECURITY_FIELD_NUMBER: _ClassVar[int]
    TELEMETRY_FIELD_NUMBER: _ClassVar[int]
    args: _containers.RepeatedScalarFieldContainer[str]
    command: _containers.RepeatedScalarFieldContainer[str]
    endpoint: Endpoint
    env: _containers.ScalarMap[str, str]
    env_from_secrets: _containers.RepeatedCompositeFieldContainer[EnvFromSecret]
    health_check: HealthCheck
    image: str
    registry_secret_id: str
    security: ContainerSecurity
    telemetry: Telemetry
    def __init__(self, image: _Optional[str] = ..., registry_secret_id: _Optional[str] = ..., endpoint: _Optional[_Union[Endpoint, _Mapping]] = ..., env: _Optional[_Mapping[str, str]] = ..., command: _Optional[_Iterable[str]] = ..., args: _Optional[_Iterable[str]] = ..., telemetry: _Optional[_Union[Telemetry, _Mapping]] = ..., health_check: _Optional[_Union[HealthCheck, _Mapping]] = ..., env_from_secrets: _Optional[_Iterable[_Union[EnvFromSecret, _Mapping]]] = ..., security: _Optional[_Union[ContainerSecurity, _Mapping]] = ...) -> None: ...

class Endpoint(_message.Message):
    __slots__ = ["idle_timeout", "port", "timeout", "type"]
    IDLE_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    PORT_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    idle_timeout: _duration_pb2.Duration
    port: int
    timeout: _duration_pb2.Duration
    type: EndpointType
    def __init__(self, type: _Optional[_Union[EndpointType, str]] = ..., port: _Optional[int] = ..., timeout: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., idle_timeout: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class EnvFromSecret(_message.Message):
    __slots__ = ["env_name", "key", "secret_id"]
    ENV_NAME_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    SECRET_ID_FIELD_NUMBER: _ClassVar[int]
    env_name: str
    key: str
    secret_id: str
    def __init__(self, env_name: _Optional[str] = ..., secret_id: _Optional[str] = ..., key: _Optional[str] = ...) -> None: ...

class HealthCheck(_message.Message):
    __slots__ = ["fails_threshold", "grpc_service", "interval", "passes_threshold", "path", "port", "timeout", "type"]
    FAILS_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    GRPC_SERVICE_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_FIELD_NUMBER: _ClassVar[int]
    PASSES_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    PORT_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    fails_threshold: int
    grpc_service: str
    interval: _duration_pb2.Duration
    passes_threshold: int
    path: str
    port: int
    timeout: _duration_pb2.Duration
    type: HealthCheckType
    def __init__(self, type: _Optional[_Union[HealthCheckType, str]] = ..., port: _Optional[int] = ..., path: _Optional[str] = ..., grpc_service: _Optional[str] = ..., timeout: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., interval: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., fails_threshold: _Optional[int] = ..., passes_threshold: _Optional[int] = ...) -> None: ...

class HealthCheckResult(_message.Message):
    __slots__ = ["passed", "reason", "time"]
    PASSED_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    passed: bool
    reason: str
    time: _timestamp_pb2.Timestamp
    def __init__(self, passed: bool = ..., reason: _Optional[str] = ..., time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Instance(_message.Message):
    __slots__ = ["address", "folder_id", "generation", "id", "last_health_check", "node_id", "reason", "restart_count", "runtime_id", "start_time", "state"]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    FOLDER_ID_FIELD_NUMBER: _ClassVar[int]
    GENERATION_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    LAST_HEALTH_CHECK_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    RESTART_COUNT_FIELD_NUMBER: _ClassVar[int]
    RUNTIME_ID_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    address: str
    folder_id: str
    generation: int
    id: str
    last_health_check: HealthCheckResult
    node_id: str
    reason: str
    restart_count: int
    runtime_id: str
    start_time: _timestamp_pb2.Timestamp
    state: InstanceState
    def __init__(self, id: _Optional[str] = ..., node_id: _Optional[str] = ..., folder_id: _Optional[str] = ..., state: _Optional[_Union[InstanceState, str]] = ..., reason: _Optional[str] = ..., runtime_id: _Optional[str] = ..., address: _Optional[str] = ..., start_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., restart_count: _Optional[int] = ..., last_health_check: _Optional[_Union[HealthCheckResult, _Mapping]] = ..., generation: _Optional[int] = ...) -> None: ...

class InstanceCounts(_message.Message):
    __slots__ = ["created", "deleting", "healthy", "preparing", "started", "undefined", "unhealthy"]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    DELETING_FIELD_NUMBER: _ClassVar[int]
    HEALTHY_FIELD_NUMBER: _ClassVar[int]
    PREPARING_FIELD_NUMBER: _ClassVar[int]
    STARTED_FIELD_NUMBER: _ClassVar[int]
    UNDEFINED_FIELD_NUMBER: _ClassVar[int]
    UNHEALTHY_FIELD_NUMBER: _ClassVar[int]
    created: int
    deleting: int
    healthy: int
    preparing: int
    started: int
    undefined: int
    unhealthy: int
    def __init__(self, undefined: _Optional[int] = ..., created: _Optional[int] = ..., started: _Optional[int] = ..., preparing: _Optional[int] = ..., healthy: _Optional[int] = ..., unhealthy: _Optional[int] = ..., deleting: _Optional[int] = ...) -> None: ...

class InstanceRange(_message.Message):
    __slots__ = ["max", "min"]
    MAX_FIELD_NUMBER: _ClassVar[int]
    MIN_FIELD_NUMBER: _ClassVar[int]
    max: int
    min: int
    def __init__(self, min: _Optional[int] = ..., max: _Optional[int] = ...) -> None: ...

class Node(_message.Message):
    __slots__ = ["create_time", "description", "etag", "folder_id", "generation", "id", "labels", "name", "spec", "status", "update_time"]
    class LabelsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    FOLDER_ID_FIELD_NUMBER: _ClassVar[int]
    GENERATION_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    create_time: _timestamp_pb2.Timestamp
    description: str
    etag: str
    folder_id: str
    generation: int
    id: str
    labels: _containers.ScalarMap[str, str]
    name: str
    spec: NodeSpec
    status: NodeStatus
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., folder_id: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., spec: _Optional[_Union[NodeSpec, _Mapping]] = ..., status: _Optional[_Union[NodeStatus, _Mapping]] = ..., generation: _Optional[int] = ..., create_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ...) -> None: ...

class NodeAcl(_message.Message):
    __slots__ = ["folder_ids"]
    FOLDER_IDS_FIELD_NUMBER: _ClassVar[int]
    folder_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, folder_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class NodeApi(_message.Message):
    __slots__ = ["node_id", "openapi_json", "package", "proto_file", "service"]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    OPENAPI_JSON_FIELD_NUMBER: _ClassVar[int]
    PACKAGE_FIELD_NUMBER: _ClassVar[int]
    PROTO_FILE_FIELD_NUMBER: _ClassVar[int]
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    openapi_json: str
    package: str
    proto_file: str
    service: str
    def __init__(self, node_id: _Optional[str] = ..., proto_file: _Optional[str] = ..., package: _Optional[str] = ..., service: _Optional[str] = ..., openapi_json: _Optional[str] = ...) -> None: ...

class NodeExecutionErrorDetails(_message.Message):
    __slots__ = ["error_message", "error_name", "traceback"]
    ERROR_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    ERROR_NAME_FIELD_NUMBER: _ClassVar[int]
    TRACEBACK_FIELD_NUMBER: _ClassVar[int]
    error_message: str
    error_name: str
    traceback: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, error_name: _Optional[str] = ..., error_message: _Optional[str] = ..., traceback: _Optional[_Iterable[str]] = ...) -> None: ...

class NodeSpec(_message.Message):
    __slots__ = ["acl", "autoscaling", "checkpoint", "configuration", "docker", "instance_range", "maintenance_limit"]
    ACL_FIELD_NUMBER: _ClassVar[int]
    AUTOSCALING_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    CONFIGURATION_FIELD_NUMBER: _ClassVar[int]
    DOCKER_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_RANGE_FIELD_NUMBER: _ClassVar[int]
    MAINTENANCE_LIMIT_FIELD_NUMBER: _ClassVar[int]
    acl: NodeAcl
    autoscaling: Autoscaling
    checkpoint: CheckpointNodeSpec
    configuration: ResourceConfiguration
    docker: DockerNodeSpec
    instance_range: InstanceRange
    maintenance_limit: int
    def __init__(self, checkpoint: _Optional[_Union[CheckpointNodeSpec, _Mapping]] = ..., docker: _Optional[_Union[DockerNodeSpec, _Mapping]] = ..., configuration: _Optional[_Union[ResourceConfiguration, _Mapping]] = ..., instance_range: _Optional[_Union[InstanceRange, _Mapping]] = ..., autoscaling: _Optional[_Union[Autoscaling, _Mapping]] = ..., maintenance_limit: _Optional[int] = ..., acl: _Optional[_Union[NodeAcl, _Mapping]] = ...) -> None: ...

class NodeStatus(_message.Message):
    __slots__ = ["conditions", "desired_instances", "instance_counts", "last_scaling_decision", "last_scaling_time", "last_wake_duration", "last_wake_time", "observed_generation", "reason", "state", "time_to_healthy"]
    CONDITIONS_FIELD_NUMBER: _ClassVar[int]
    DESIRED_INSTANCES_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_COUNTS_FIELD_NUMBER: _ClassVar[int]
    LAST_SCALING_DECISION_FIELD_NUMBER: _ClassVar[int]
    LAST_SCALING_TIME_FIELD_NUMBER: _ClassVar[int]
    LAST_WAKE_DURATION_FIELD_NUMBER: _ClassVar[int]
    LAST_WAKE_TIME_FIELD_NUMBER: _ClassVar[int]
    OBSERVED_GENERATION_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    TIME_TO_HEALTHY_FIELD_NUMBER: _ClassVar[int]
    conditions: _containers.RepeatedCompositeFieldContainer[Condition]
    desired_instances: int
    instance_counts: InstanceCounts
    last_scaling_decision: str
    last_scaling_time: _timestamp_pb2.Timestamp
    last_wake_duration: _duration_pb2.Duration
    last_wake_time: _timestamp_pb2.Timestamp
    observed_generation: int
    reason: str
    state: NodeState
    time_to_healthy: _duration_pb2.Duration
    def __init__(self, state: _Optional[_Union[NodeState, str]] = ..., reason: _Optional[str] = ..., instance_counts: _Optional[_Union[InstanceCounts, _Mapping]] = ..., desired_instances: _Optional[int] = ..., observed_generation: _Optional[int] = ..., conditions: _Optional[_Iterable[_Union[Condition, _Mapping]]] = ..., time_to_healthy: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., last_scaling_decision: _Optional[str] = ..., last_scaling_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., last_wake_duration: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., last_wake_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ResourceConfiguration(_message.Message):
    __slots__ = ["cpu", "gpu", "memory_bytes", "name"]
    CPU_FIELD_NUMBER: _ClassVar[int]
    GPU_FIELD_NUMBER: _ClassVar[int]
    MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    cpu: float
    gpu: int
    memory_bytes: int
    name: str
    def __init__(self, cpu: _Optional[float] = ..., memory_bytes: _Optional[int] = ..., gpu: _Optional[int] = ..., name: _Optional[str] = ...) -> None: ...

class Telemetry(_message.Message):
    __slots__ = ["http_path", "port"]
    HTTP_PATH_FIELD_NUMBER: _ClassVar[int]
    PORT_FIELD_NUMBER: _ClassVar[int]
    http_path: str
    port: int
    def __init__(self, http_path: _Optional[str] = ..., port: _Optional[int] = ...) -> None: ...

class TmpfsMount(_message.Message):
    __slots__ = ["path", "size_bytes"]
    PATH_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    path: str
    size_bytes: int
    def __init__(self, path: _Optional[str] = ..., size_bytes: _Optional[int] = ...) -> None: ...

class Variable(_message.Message):
    __slots__ = ["name", "type"]
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    name: str
    type: VariableType
    def __init__(self, name: _Optional[str] = ..., type: _Optional[_Union[VariableType, str]] = ...) -> None: ...

class VariableType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class EndpointType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class HealthCheckType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class NodeState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class InstanceState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
