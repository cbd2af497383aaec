package suite_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/dynamicpb"

	accountpb "github.com/tessera-dev/tessera/gen/tessera/account/v1"
	commonpb "github.com/tessera-dev/tessera/gen/tessera/common/v1"
	devicepb "github.com/tessera-dev/tessera/gen/tessera/device/v1"
	downloadpb "github.com/tessera-dev/tessera/gen/tessera/download/v1"
	entitlementpb "github.com/tessera-dev/tessera/gen/tessera/entitlement/v1"
	licensepb "github.com/tessera-dev/tessera/gen/tessera/license/v1"
	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/suite"
	"github.com/tessera-dev/tessera/services/suite/suitetest"
)

var serviceDescs = map[string][]grpc.ServiceDesc{
	"account":     {accountpb.AccountService_ServiceDesc, accountpb.AuthService_ServiceDesc, accountpb.AccessTokenService_ServiceDesc, accountpb.AuditService_ServiceDesc, accountpb.RegistrationService_ServiceDesc, accountpb.OrganizationService_ServiceDesc},
	"entitlement": {entitlementpb.CatalogService_ServiceDesc, entitlementpb.EntitlementService_ServiceDesc},
	"license":     {licensepb.LicenseService_ServiceDesc},
	"device":      {devicepb.DeviceService_ServiceDesc},
	"download":    {downloadpb.DownloadService_ServiceDesc},
}

type rpc struct {
	service, fullMethod string
	streaming           bool
}

func allRPCs() []rpc {
	var out []rpc
	for svc, descs := range serviceDescs {
		for _, d := range descs {
			for _, m := range d.Methods {
				out = append(out, rpc{svc, "/" + d.ServiceName + "/" + m.MethodName, false})
			}
			for _, s := range d.Streams {
				out = append(out, rpc{svc, "/" + d.ServiceName + "/" + s.StreamName, true})
			}
		}
	}
	return out
}

// invoke calls any RPC with an empty request, the way a client that knows only the
// method name would.
func invoke(ctx context.Context, conn *grpc.ClientConn, r rpc) error {
	name := protoreflect.FullName(strings.Replace(strings.TrimPrefix(r.fullMethod, "/"), "/", ".", 1))
	d, err := protoregistry.GlobalFiles.FindDescriptorByName(name)
	if err != nil {
		return err
	}
	md := d.(protoreflect.MethodDescriptor)
	req, resp := dynamicpb.NewMessage(md.Input()), dynamicpb.NewMessage(md.Output())
	if !r.streaming {
		return conn.Invoke(ctx, r.fullMethod, req, resp)
	}
	st, err := conn.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, r.fullMethod)
	if err != nil {
		return err
	}
	if err := st.SendMsg(req); err != nil {
		return err
	}
	if err := st.CloseSend(); err != nil {
		return err
	}
	return st.RecvMsg(resp)
}

func allPermissions() []string {
	var out []string
	for _, svc := range suite.ServiceNames {
		for _, p := range suite.Permissions(svc) {
			if p != authz.Public && !slices.Contains(out, string(p)) {
				out = append(out, string(p))
			}
		}
	}
	return out
}

// Every RPC declares a permission, and a caller holding every permission but that
// one is refused before anything runs.
func TestEveryRPCRequiresItsPermission(t *testing.T) {
	env := suitetest.Start(t)
	conns := map[string]*grpc.ClientConn{}
	for _, svc := range suite.ServiceNames {
		conns[svc] = env.Dial(t, svc)
	}
	for _, r := range allRPCs() {
		perm, declared := suite.Permissions(r.service)[r.fullMethod]
		require.True(t, declared, "%s declares no permission", r.fullMethod)
		t.Run(r.fullMethod, func(t *testing.T) {
			if perm == authz.Public {
				return
			}
			others := slices.DeleteFunc(allPermissions(), func(p string) bool { return p == string(perm) })
			caller := &commonpb.Principal{
				Kind: commonpb.PrincipalKind_PRINCIPAL_KIND_USER, TenantId: "acme", UserId: "u1", TenantWide: true, Permissions: others,
			}
			err := invoke(env.As(t, caller), conns[r.service], r)
			require.Equal(t, codes.PermissionDenied, status.Code(err), "%v", err)

			err = invoke(t.Context(), conns[r.service], r)
			require.Equal(t, codes.Unauthenticated, status.Code(err), "no principal: %v", err)

			forged := proto.CloneOf(caller)
			forged.Permissions = allPermissions()
			other, err := authz.NewSigner(randomKey(t)).Sign(forged)
			require.NoError(t, err)
			err = invoke(authz.Outgoing(t.Context(), other), conns[r.service], r)
			require.Equal(t, codes.Unauthenticated, status.Code(err), "a principal signed by another key: %v", err)
		})
	}
}

// No RPC is a stub: called with every permission (and an empty request) each one
// answers with something other than Unimplemented.
func TestEveryRPCIsImplemented(t *testing.T) {
	env := suitetest.Start(t)
	caller := suitetest.Producer("acme")
	caller.Permissions = allPermissions()
	for _, r := range allRPCs() {
		err := invoke(env.As(t, caller), env.Dial(t, r.service), r)
		require.NotEqual(t, codes.Unimplemented, status.Code(err), r.fullMethod)
	}
}
