package grpcx

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/tessera-dev/tessera/services/platform/logging"
)

// MaxRequestIDLength bounds a request ID taken from a caller; the gateway refuses
// longer ones before they get here, this keeps a direct gRPC caller from bloating logs.
const MaxRequestIDLength = 128

// incomingRequestID puts the caller's request ID (x-request-id metadata) into ctx,
// so every log line of the call and every call it makes onwards carry it.
func incomingRequestID(ctx context.Context) context.Context {
	md, _ := metadata.FromIncomingContext(ctx)
	vals := md.Get(logging.RequestIDKey)
	if len(vals) == 0 || vals[0] == "" || len(vals[0]) > MaxRequestIDLength {
		return ctx
	}
	return logging.WithRequestID(ctx, vals[0])
}

func unaryRequestID(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	return handler(incomingRequestID(ctx), req)
}

func streamRequestID(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	return handler(srv, &ctxStream{ServerStream: ss, ctx: incomingRequestID(ss.Context())})
}

// outgoingRequestID passes the request ID of ctx on to the called service.
func outgoingRequestID(ctx context.Context) context.Context {
	id := logging.RequestID(ctx)
	if id == "" {
		return ctx
	}
	if md, ok := metadata.FromOutgoingContext(ctx); ok && len(md.Get(logging.RequestIDKey)) > 0 {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, logging.RequestIDKey, id)
}

// PropagateRequestID returns the dial options that pass the request ID of each
// call's context on to the called service (Dial includes them).
func PropagateRequestID() []grpc.DialOption {
	return []grpc.DialOption{
		grpc.WithChainUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
			return invoker(outgoingRequestID(ctx), method, req, reply, cc, opts...)
		}),
		grpc.WithChainStreamInterceptor(func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
			return streamer(outgoingRequestID(ctx), desc, cc, method, opts...)
		}),
	}
}

// WithMaxMessageBytes bounds the messages a client sends and receives, to match the
// servers' limit; n <= 0 keeps gRPC's defaults.
func WithMaxMessageBytes(n int) grpc.DialOption {
	if n <= 0 {
		return grpc.EmptyDialOption{}
	}
	return grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(n), grpc.MaxCallSendMsgSize(n))
}
