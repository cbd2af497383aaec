// Package grpcapi is the device service's thin gRPC layer.
package grpcapi

import (
	"context"

	"google.golang.org/protobuf/types/known/timestamppb"

	devicepb "github.com/tessera-dev/tessera/gen/tessera/device/v1"
	"github.com/tessera-dev/tessera/services/device/internal/app"
	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/platform/grpcx"
	"github.com/tessera-dev/tessera/services/platform/names"
)

// Permissions declares what every RPC needs.
var Permissions = grpcx.Permissions{
	devicepb.DeviceService_CreateDevice_FullMethodName:           authz.DevicesManage,
	devicepb.DeviceService_GetDevice_FullMethodName:              authz.DevicesView,
	devicepb.DeviceService_UpdateDevice_FullMethodName:           authz.DevicesManage,
	devicepb.DeviceService_ListDevices_FullMethodName:            authz.DevicesView,
	devicepb.DeviceService_ImportDevices_FullMethodName:          authz.DevicesAdmin,
	devicepb.DeviceService_MapLineItem_FullMethodName:            authz.DevicesManage,
	devicepb.DeviceService_MapLineItems_FullMethodName:           authz.DevicesManage,
	devicepb.DeviceService_UnmapLineItem_FullMethodName:          authz.DevicesManage,
	devicepb.DeviceService_ReturnDevice_FullMethodName:           authz.DevicesManage,
	devicepb.DeviceService_MoveDevice_FullMethodName:             authz.DevicesManage,
	devicepb.DeviceService_GetLicensePreview_FullMethodName:      authz.DevicesView,
	devicepb.DeviceService_ListDeviceFeatures_FullMethodName:     authz.DevicesView,
	devicepb.DeviceService_ListDeviceHistory_FullMethodName:      authz.DevicesView,
	devicepb.DeviceService_SetServerAdminPassword_FullMethodName: authz.DevicesManage,
	devicepb.DeviceService_CreateDeviceIdType_FullMethodName:     authz.DevicesAdmin,
	devicepb.DeviceService_ListDeviceIdTypes_FullMethodName:      authz.DevicesView,
	devicepb.DeviceService_GetDeviceSettings_FullMethodName:      authz.DevicesView,
	devicepb.DeviceService_UpdateDeviceSettings_FullMethodName:   authz.DevicesAdmin,
	devicepb.DeviceService_CountAccountDevices_FullMethodName:    authz.HoldingsCount,
	devicepb.AuditService_ListAuditEvents_FullMethodName:         authz.AuditView,
}

// Server implements DeviceService.
type Server struct {
	devicepb.UnimplementedDeviceServiceServer
	app *app.App
}

// New returns the gRPC handlers over the use cases.
func New(a *app.App) *Server { return &Server{app: a} }

var types = map[devicepb.DeviceType]string{
	devicepb.DeviceType_DEVICE_TYPE_STANDALONE:    app.TypeClient,
	devicepb.DeviceType_DEVICE_TYPE_SERVER:        app.TypeServer,
	devicepb.DeviceType_DEVICE_TYPE_SERVED_CLIENT: app.TypeServedClient,
}

func devicePB(d app.Device) *devicepb.Device {
	out := &devicepb.Device{
		Name: "devices/" + d.ID, DeviceId: d.ID, Account: "accounts/" + d.AccountID, DisplayName: d.DisplayName,
		HostId: d.HostID, CreateTime: timestamppb.New(d.CreateTime),
	}
	for k, v := range types {
		if v == d.Type {
			out.Type = k
		}
	}
	out.LineItems = lineItemsPB(d.Mappings)
	out.Sequence = d.Sequence
	return out
}

// CreateDevice implements DeviceService.
func (s *Server) CreateDevice(ctx context.Context, req *devicepb.CreateDeviceRequest) (*devicepb.Device, error) {
	d := req.GetDevice()
	account := ""
	if d.GetAccount() != "" {
		var err error
		if account, err = names.ID("device.account", d.GetAccount(), "accounts"); err != nil {
			return nil, err
		}
	}
	out, err := s.app.CreateDevice(ctx, app.Device{
		ID: req.GetDeviceId(), AccountID: account, DisplayName: d.GetDisplayName(), HostID: d.GetHostId(),
		Type: types[d.GetType()], RequestID: req.GetRequestId(),
	})
	if err != nil {
		return nil, err
	}
	return devicePB(out), nil
}

// GetDevice implements DeviceService.
func (s *Server) GetDevice(ctx context.Context, req *devicepb.GetDeviceRequest) (*devicepb.Device, error) {
	id, err := names.ID("name", req.GetName(), "devices")
	if err != nil {
		return nil, err
	}
	out, err := s.app.GetDevice(ctx, id)
	if err != nil {
		return nil, err
	}
	return devicePB(out), nil
}

// CountAccountDevices implements DeviceService.
func (s *Server) CountAccountDevices(ctx context.Context, req *devicepb.CountAccountDevicesRequest) (*devicepb.CountAccountDevicesResponse, error) {
	n, err := s.app.CountAccountDevices(ctx, req.GetAccountIds())
	if err != nil {
		return nil, err
	}
	return &devicepb.CountAccountDevicesResponse{Devices: n}, nil
}
