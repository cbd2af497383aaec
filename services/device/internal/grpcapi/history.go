package grpcapi

import (
	"context"

	"google.golang.org/protobuf/types/known/timestamppb"

	commonpb "github.com/tessera-dev/tessera/gen/tessera/common/v1"
	devicepb "github.com/tessera-dev/tessera/gen/tessera/device/v1"
	"github.com/tessera-dev/tessera/services/device/internal/app"
	"github.com/tessera-dev/tessera/services/platform/events"
	"github.com/tessera-dev/tessera/services/platform/names"
)

// ListDeviceHistory implements DeviceService.
func (s *Server) ListDeviceHistory(ctx context.Context, req *devicepb.ListDeviceHistoryRequest) (*devicepb.ListDeviceHistoryResponse, error) {
	id, err := names.ID("parent", req.GetParent(), "devices")
	if err != nil {
		return nil, err
	}
	list, next, err := s.app.ListDeviceHistory(ctx, id, int(req.GetPageSize()), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	out := &devicepb.ListDeviceHistoryResponse{NextPageToken: next}
	for _, e := range list {
		entry := &devicepb.DeviceHistoryEntry{Time: timestamppb.New(e.Time), Kind: e.Kind, Description: e.Description, Quantity: e.Quantity}
		if e.ActorUserID != "" {
			entry.Actor = "users/" + e.ActorUserID
		}
		if e.ActivationID != "" {
			entry.LineItem = "lineItems/" + e.ActivationID
		}
		out.Entries = append(out.Entries, entry)
	}
	return out, nil
}

// AuditServer implements the device service's AuditService (SPEC PLT-4).
type AuditServer struct {
	devicepb.UnimplementedAuditServiceServer
	app *app.App
}

// Audit returns the AuditService handlers over the same use cases.
func (s *Server) Audit() *AuditServer { return &AuditServer{app: s.app} }

// ListAuditEvents implements AuditService.
func (s *AuditServer) ListAuditEvents(ctx context.Context, req *commonpb.ListAuditEventsRequest) (*commonpb.ListAuditEventsResponse, error) {
	list, next, err := s.app.ListAuditEvents(ctx, events.QueryOf(req))
	if err != nil {
		return nil, err
	}
	return events.AuditPage(list, next), nil
}
