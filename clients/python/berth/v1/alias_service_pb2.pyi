from berth.v1 import alias_pb2 as _alias_pb2
from google.api import annotations_pb2 as _annotations_pb2
from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.protobuf import empty_pb2 as _empty_pb2
from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CreateAliasRequest(_message.Message):
    __slots__ = ["alias"]
    ALIAS_FIELD_NUMBER: _ClassVar[int]
    alias: _alias_pb2.Alias
    def __init__(self, alias: _Optional[_Union[_alias_pb2.Alias, _Mapping]] = ...) -> None: ...

class DeleteAliasRequest(_message.Message):
    __slots__ = ["alias_id", "etag"]
    ALIAS_ID_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    alias_id: str
    etag: str
    def __init__(self, alias_id: _Optional[str] = ..., etag: _Optional[str] = ...) -> None: ...

class GetAliasRequest(_message.Message):
    __slots__ = ["alias_id"]
    ALIAS_ID_FIELD_NUMBER: _ClassVar[int]
    alias_id: str
    def __init__(self, alias_id: _Optional[str] = ...) -> None: ...

class ListAliasesRequest(_message.Message):
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

class ListAliasesResponse(_message.Message):
    __slots__ = ["aliases", "next_page_token"]
    ALIASES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    aliases: _containers.RepeatedCompositeFieldContainer[_alias_pb2.Alias]
    next_page_token: str
    def __init__(self, aliases: _Optional[_Iterable[_Union[_alias_pb2.Alias, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdateAliasRequest(_message.Message):
    __slots__ = ["alias", "update_mask"]
    ALIAS_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    alias: _alias_pb2.Alias
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, alias: _Optional[_Union[_alias_pb2.Alias, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...
