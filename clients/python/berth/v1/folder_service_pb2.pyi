from berth.v1 import folder_pb2 as _folder_pb2
from google.api import annotations_pb2 as _annotations_pb2
from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.protobuf import empty_pb2 as _empty_pb2
from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CreateFolderRequest(_message.Message):
    __slots__ = ["folder"]
    FOLDER_FIELD_NUMBER: _ClassVar[int]
    folder: _folder_pb2.Folder
    def __init__(self, folder: _Optional[_Union[_folder_pb2.Folder, _Mapping]] = ...) -> None: ...

class DeleteFolderRequest(_message.Message):
    __slots__ = ["etag", "folder_id"]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    FOLDER_ID_FIELD_NUMBER: _ClassVar[int]
    etag: str
    folder_id: str
    def __init__(self, folder_id: _Optional[str] = ..., etag: _Optional[str] = ...) -> None: ...

class GetFolderRequest(_message.Message):
    __slots__ = ["folder_id"]
    FOLDER_ID_FIELD_NUMBER: _ClassVar[int]
    folder_id: str
    def __init__(self, folder_id: _Optional[str] = ...) -> None: ...

class ListFoldersRequest(_message.Message):
    __slots__ = ["filter", "page_size", "page_token"]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    filter: str
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., filter: _Optional[str] = ...) -> None: ...

class ListFoldersResponse(_message.Message):
    __slots__ = ["folders", "next_page_token"]
    FOLDERS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    folders: _containers.RepeatedCompositeFieldContainer[_folder_pb2.Folder]
    next_page_token: str
    def __init__(self, folders: _Optional[_Iterable[_Union[_folder_pb2.Folder, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdateFolderRequest(_message.Message):
    __slots__ = ["folder", "update_mask"]
    FOLDER_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    folder: _folder_pb2.Folder
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, folder: _Optional[_Union[_folder_pb2.Folder, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...
