// Package grpcapi is the device service's thin gRPC layer.
package grpcapi

import (
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	devicepb "github.com/tessera-dev/tessera/gen/tessera/device/v1"
	"github.com/tessera-dev/tessera/services/device/internal/app"
	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/platform/errs"
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

var (
	types = map[devicepb.DeviceType]string{
		devicepb.DeviceType_DEVICE_TYPE_STANDALONE:    app.TypeClient,
		devicepb.DeviceType_DEVICE_TYPE_SERVER:        app.TypeServer,
		devicepb.DeviceType_DEVICE_TYPE_SERVED_CLIENT: app.TypeServedClient,
	}
	statuses = map[devicepb.DeviceStatus]string{
		devicepb.DeviceStatus_DEVICE_STATUS_ACTIVE:          app.StatusActive,
		devicepb.DeviceStatus_DEVICE_STATUS_RETURNED:        app.StatusReturned,
		devicepb.DeviceStatus_DEVICE_STATUS_OBSOLETE:        app.StatusObsolete,
		devicepb.DeviceStatus_DEVICE_STATUS_NORMAL:          app.StatusNormal,
		devicepb.DeviceStatus_DEVICE_STATUS_SERVED_RETURNED: app.StatusServedReturned,
		devicepb.DeviceStatus_DEVICE_STATUS_DROPPED:         app.StatusDropped,
		devicepb.DeviceStatus_DEVICE_STATUS_EXPIRED:         app.StatusExpired,
	}
	deployments = map[devicepb.Deployment]string{
		devicepb.Deployment_DEPLOYMENT_LOCAL: app.DeploymentLocal,
		devicepb.Deployment_DEPLOYMENT_CLOUD: app.DeploymentCloud,
	}
	userModes = map[devicepb.DeviceUserMode]string{
		devicepb.DeviceUserMode_DEVICE_USER_MODE_OFF:           app.UserModeOff,
		devicepb.DeviceUserMode_DEVICE_USER_MODE_FREE_TEXT:     app.UserModeFreeText,
		devicepb.DeviceUserMode_DEVICE_USER_MODE_EXISTING_USER: app.UserModeExistingUser,
	}
)

// keyOf finds the enum value a domain value stands for (the zero value if none).
func keyOf[K comparable](m map[K]string, v string) K {
	for k, x := range m {
		if x == v {
			return k
		}
	}
	var zero K
	return zero
}

func timestamp(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func name(collection, id string) string {
	if id == "" {
		return ""
	}
	return collection + "/" + id
}

func devicePB(d app.Device) *devicepb.Device {
	out := &devicepb.Device{
		Name: "devices/" + d.ID, DeviceId: d.ID, Account: name("accounts", d.AccountID), DisplayName: d.DisplayName,
		HostId: d.HostID, Type: keyOf(types, d.Type), CreateTime: timestamp(d.CreateTime), IdType: d.IDType,
		Model: d.Model, Series: d.Series, SiteName: d.SiteName, Notes: d.Notes, DeviceUser: d.DeviceUser,
		Status: keyOf(statuses, d.Status), BackupServer: name("devices", d.BackupServerID), PublisherIdentity: d.PublisherIdentity,
		Deployment: keyOf(deployments, d.Deployment), Attributes: d.Attributes, UpdateTime: timestamp(d.UpdateTime),
		OwnerDisplayName: d.OwnerName, Server: name("devices", d.ServerID), Sequence: d.Sequence,
		AdminPasswordSet: d.AdminPasswordSet,
	}
	if v := d.Virtualization; v != nil {
		out.Virtualization = &devicepb.Virtualization{
			Hypervisor: v.Hypervisor, Virtual: v.Virtual, VmName: v.VMName, VmUuid: v.VMUUID, PhysicalHostId: v.PhysicalHostID, ContainerId: v.ContainerID,
		}
	}
	if !d.ReturnTime.IsZero() {
		out.Return = &devicepb.DeviceReturn{ReturnTime: timestamp(d.ReturnTime), RmaNumber: d.RMANumber, DestinationDevice: name("devices", d.ReturnedTo)}
	}
	for _, m := range d.Mappings {
		item := &devicepb.MappedLineItem{
			Quantity: m.Quantity, ActivationId: m.ActivationID, Masked: m.Masked, Product: name("products", m.ProductID),
			ExpireTime: timestamp(m.ExpireAt), ConfiguredExpireTime: timestamp(m.ConfiguredExpireAt), CreateTime: timestamp(m.CreateTime),
		}
		if !m.Masked {
			item.LineItem, item.Account = name("lineItems", m.ActivationID), name("accounts", m.AccountID)
		}
		out.LineItems = append(out.LineItems, item)
	}
	return out
}

// deviceFrom reads the fields of a Device message a caller sets; resource names
// become IDs (violations name field prefix + the field).
func deviceFrom(prefix string, d *devicepb.Device) (app.Device, error) {
	account, err := names.OptionalID(prefix+"account", d.GetAccount(), "accounts")
	if err != nil {
		return app.Device{}, err
	}
	backup, err := names.OptionalID(prefix+"backup_server", d.GetBackupServer(), "devices")
	if err != nil {
		return app.Device{}, err
	}
	var v errs.Violations
	enumKnown(&v, prefix+"type", types, d.GetType())
	enumKnown(&v, prefix+"status", statuses, d.GetStatus())
	enumKnown(&v, prefix+"deployment", deployments, d.GetDeployment())
	if err := v.Err(); err != nil {
		return app.Device{}, err
	}
	out := app.Device{
		ID: d.GetDeviceId(), AccountID: account, DisplayName: d.GetDisplayName(), IDType: d.GetIdType(), HostID: d.GetHostId(),
		Type: types[d.GetType()], Status: statuses[d.GetStatus()], Deployment: deployments[d.GetDeployment()],
		Model: d.GetModel(), Series: d.GetSeries(), SiteName: d.GetSiteName(), Notes: d.GetNotes(), DeviceUser: d.GetDeviceUser(),
		BackupServerID: backup, PublisherIdentity: d.GetPublisherIdentity(), Attributes: d.GetAttributes(),
	}
	if v := d.GetVirtualization(); v != nil {
		out.Virtualization = &app.Virtualization{
			Hypervisor: v.GetHypervisor(), Virtual: v.GetVirtual(), VMName: v.GetVmName(), VMUUID: v.GetVmUuid(),
			PhysicalHostID: v.GetPhysicalHostId(), ContainerID: v.GetContainerId(),
		}
	}
	return out, nil
}

// enumKnown refuses an enum number the API does not define (JSON and gRPC both let
// one through); unspecified stays allowed for the use cases to default or refuse.
func enumKnown[E comparable](v *errs.Violations, field string, known map[E]string, value E) {
	var unspecified E
	if _, ok := known[value]; !ok && value != unspecified {
		v.Add(field, "%v is not one of its values", value)
	}
}
