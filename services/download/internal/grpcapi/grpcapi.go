// Package grpcapi is the download service's thin gRPC layer.
package grpcapi

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/timestamppb"

	downloadpb "github.com/tessera-dev/tessera/gen/tessera/download/v1"
	"github.com/tessera-dev/tessera/services/download/internal/app"
	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/grpcx"
	"github.com/tessera-dev/tessera/services/platform/names"
)

// ChunkSize is the size of the pieces a download is streamed in.
const ChunkSize = 64 << 10

// Permissions declares what every RPC needs.
var Permissions = grpcx.Permissions{
	downloadpb.DownloadService_CreatePackage_FullMethodName: authz.DownloadsManage,
	downloadpb.DownloadService_GetPackage_FullMethodName:    authz.DownloadsDownload,
	downloadpb.DownloadService_CreateFile_FullMethodName:    authz.DownloadsManage,
	downloadpb.DownloadService_DownloadFile_FullMethodName:  authz.DownloadsDownload,
}

// Server implements DownloadService.
type Server struct {
	downloadpb.UnimplementedDownloadServiceServer
	app *app.App
}

// New returns the gRPC handlers over the use cases.
func New(a *app.App) *Server { return &Server{app: a} }

func filePB(f app.File) *downloadpb.File {
	return &downloadpb.File{
		Name: "packages/" + f.PackageID + "/files/" + f.ID, FileId: f.ID, Filename: f.Filename,
		SizeBytes: f.Size, Sha256: f.SHA256, CreateTime: timestamppb.New(f.CreateTime),
	}
}

func packagePB(p app.Package) *downloadpb.Package {
	out := &downloadpb.Package{
		Name: "packages/" + p.ID, PackageId: p.ID, DisplayName: p.DisplayName, Product: "products/" + p.ProductID,
		CreateTime: timestamppb.New(p.CreateTime),
	}
	for _, f := range p.Files {
		out.Files = append(out.Files, filePB(f))
	}
	return out
}

// CreatePackage implements DownloadService.
func (s *Server) CreatePackage(ctx context.Context, req *downloadpb.CreatePackageRequest) (*downloadpb.Package, error) {
	p := req.GetPackage()
	product := ""
	if p.GetProduct() != "" {
		var err error
		if product, err = names.ID("package.product", p.GetProduct(), "products"); err != nil {
			return nil, err
		}
	}
	out, err := s.app.CreatePackage(ctx, app.Package{ID: req.GetPackageId(), DisplayName: p.GetDisplayName(), ProductID: product, RequestID: req.GetRequestId()})
	if err != nil {
		return nil, err
	}
	return packagePB(out), nil
}

// GetPackage implements DownloadService.
func (s *Server) GetPackage(ctx context.Context, req *downloadpb.GetPackageRequest) (*downloadpb.Package, error) {
	id, err := names.ID("name", req.GetName(), "packages")
	if err != nil {
		return nil, err
	}
	out, err := s.app.GetPackage(ctx, id)
	if err != nil {
		return nil, err
	}
	return packagePB(out), nil
}

// CreateFile implements DownloadService.
func (s *Server) CreateFile(ctx context.Context, req *downloadpb.CreateFileRequest) (*downloadpb.File, error) {
	id, err := names.ID("parent", req.GetParent(), "packages")
	if err != nil {
		return nil, err
	}
	f, err := s.app.CreateFile(ctx, id, req.GetFilename(), bytes.NewReader(req.GetContent()), req.GetRequestId())
	if err != nil {
		return nil, err
	}
	return filePB(f), nil
}

// ParseFileName splits packages/{p}/files/{f}.
func ParseFileName(name string) (string, string, error) {
	parts := strings.Split(name, "/")
	if len(parts) != 4 || parts[0] != "packages" || parts[2] != "files" || parts[1] == "" || parts[3] == "" {
		return "", "", errs.Invalid("name", "must look like packages/{package}/files/{file}")
	}
	return parts[1], parts[3], nil
}

// DownloadFile implements DownloadService.
func (s *Server) DownloadFile(req *downloadpb.DownloadFileRequest, stream grpc.ServerStreamingServer[downloadpb.DownloadFileResponse]) error {
	pkg, file, err := ParseFileName(req.GetName())
	if err != nil {
		return err
	}
	d, err := s.app.OpenDownload(stream.Context(), pkg, file, req.GetOffset(), req.GetLength())
	if err != nil {
		return err
	}
	defer func() { _ = d.Body.Close() }()
	first := &downloadpb.DownloadFileResponse{File: filePB(d.File)}
	buf := make([]byte, ChunkSize)
	for {
		n, err := io.ReadFull(d.Body, buf)
		if n > 0 || first != nil {
			msg := first
			if msg == nil {
				msg = &downloadpb.DownloadFileResponse{}
			}
			first = nil
			msg.Chunk = buf[:n]
			if err := stream.Send(msg); err != nil {
				return err
			}
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
