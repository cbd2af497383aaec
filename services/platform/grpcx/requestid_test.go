package grpcx_test

import (
	"bytes"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/tessera-dev/tessera/services/platform/grpcx"
	"github.com/tessera-dev/tessera/services/platform/logging"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// The request ID of a caller's context reaches the called server's log lines
// (issue 12, item 18).
func TestRequestIDReachesTheServersLog(t *testing.T) {
	var logs syncBuffer
	srv := grpcx.NewServer(grpcx.ServerOptions{Name: "test", Logger: logging.New(&logs, "debug"), MaxMessageBytes: 1 << 20})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)

	conn, err := grpc.NewClient(ln.Addr().String(), append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}, grpcx.PropagateRequestID()...)...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	ctx := logging.WithRequestID(t.Context(), "rid-42")
	_, err = healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	require.NoError(t, err)
	require.Contains(t, logs.String(), `"request_id":"rid-42"`)

	_, err = healthpb.NewHealthClient(conn).Check(logging.WithRequestID(t.Context(), strings.Repeat("x", 200)), &healthpb.HealthCheckRequest{})
	require.NoError(t, err)
	require.NotContains(t, logs.String(), strings.Repeat("x", 200), "an overlong request ID is not logged")
}
