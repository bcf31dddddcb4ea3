"""A protoc plugin for buf (buf.gen.yaml): the gRPC Python stubs (`*_pb2_grpc.py`)
of the files that declare services, written by grpcio-tools' generator.

grpcio-tools builds its generator into its own protoc rather than shipping a
plugin binary, so this hands that protoc the request's files as a descriptor
set and returns what it writes. Needs grpcio-tools (Debian: python3-grpc-tools).
"""
import os
import sys
import tempfile

from google.protobuf import descriptor_pb2
from google.protobuf.compiler import plugin_pb2
from grpc_tools import protoc


def main() -> None:
    request = plugin_pb2.CodeGeneratorRequest.FromString(sys.stdin.buffer.read())
    response = plugin_pb2.CodeGeneratorResponse(supported_features=plugin_pb2.CodeGeneratorResponse.FEATURE_PROTO3_OPTIONAL)
    to_generate = set(request.file_to_generate)
    with_services = [f.name for f in request.proto_file if f.name in to_generate and f.service]
    with tempfile.TemporaryDirectory() as tmp:
        descriptor_set = os.path.join(tmp, "files.binpb")
        with open(descriptor_set, "wb") as out:
            out.write(descriptor_pb2.FileDescriptorSet(file=request.proto_file).SerializeToString())
        if with_services:
            code = protoc.main(["protoc", f"--descriptor_set_in={descriptor_set}", f"--grpc_python_out={tmp}", *with_services])
            if code != 0:
                response.error = f"grpc_tools.protoc exited with {code}"
        if not response.error:
            for name in with_services:
                stub = name[: -len(".proto")] + "_pb2_grpc.py"
                with open(os.path.join(tmp, stub), encoding="utf-8") as f:
                    response.file.add(name=stub, content=f.read())
    sys.stdout.buffer.write(response.SerializeToString())


if __name__ == "__main__":
    main()
