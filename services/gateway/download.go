package gateway

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	downloadpb "github.com/tessera-dev/tessera/gen/tessera/download/v1"
	"github.com/tessera-dev/tessera/services/platform/authz"
)

// ByteRange is a parsed single HTTP byte range; Length 0 means to the end.
type ByteRange struct {
	Offset, Length int64
}

// ParseRange reads "bytes=a-b" or "bytes=a-". It reports ok=false for headers it
// does not serve as a range (absent, several ranges, suffix ranges): the whole file
// is sent then, as RFC 9110 allows.
func ParseRange(h string) (ByteRange, bool, error) {
	spec, found := strings.CutPrefix(strings.TrimSpace(h), "bytes=")
	if !found || strings.Contains(spec, ",") {
		return ByteRange{}, false, nil
	}
	first, last, found := strings.Cut(spec, "-")
	if !found || first == "" {
		return ByteRange{}, false, nil
	}
	start, err := strconv.ParseInt(strings.TrimSpace(first), 10, 64)
	if err != nil || start < 0 {
		return ByteRange{}, false, errors.New("invalid range start")
	}
	if strings.TrimSpace(last) == "" {
		return ByteRange{Offset: start}, true, nil
	}
	end, err := strconv.ParseInt(strings.TrimSpace(last), 10, 64)
	if err != nil || end < start {
		return ByteRange{}, false, errors.New("invalid range end")
	}
	length := end - start
	if length < math.MaxInt64 {
		length++ // the end is inclusive
	}
	return ByteRange{Offset: start, Length: length}, true, nil
}

// download serves GET /v1/packages/{p}/files/{f}:download from the streaming RPC,
// honouring a single byte range.
func (g *Gateway) download(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/v1/"), ":download")
	rng, partial, err := ParseRange(r.Header.Get("Range"))
	if err != nil {
		w.Header().Set("Content-Range", "bytes */*")
		writeStatus(w, status.New(codes.OutOfRange, "the Range header is malformed"))
		return
	}
	ctx := r.Context()
	if signed, ok := ctx.Value(signedKey{}).(string); ok {
		ctx = authz.Outgoing(ctx, signed)
	}
	stream, err := g.dl.DownloadFile(ctx, &downloadpb.DownloadFileRequest{Name: name, Offset: rng.Offset, Length: rng.Length})
	if err != nil {
		writeStatus(w, status.Convert(err))
		return
	}
	first, err := stream.Recv()
	if err != nil {
		st := status.Convert(err)
		if partial && st.Code() == codes.InvalidArgument {
			w.Header().Set("Content-Range", "bytes */*")
			w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
			return
		}
		writeStatus(w, st)
		return
	}
	f := first.GetFile()
	size := f.GetSizeBytes()
	length := size - rng.Offset
	if rng.Length > 0 && rng.Length < length {
		length = rng.Length
	}
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": f.GetFilename()}))
	h.Set("Accept-Ranges", "bytes")
	h.Set("ETag", `"`+f.GetSha256()+`"`)
	if sum, err := hex.DecodeString(f.GetSha256()); err == nil {
		h.Set("Digest", "sha-256="+base64.StdEncoding.EncodeToString(sum))
	}
	h.Set("Content-Length", strconv.FormatInt(length, 10))
	if partial {
		h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", rng.Offset, rng.Offset+length-1, size))
		w.WriteHeader(http.StatusPartialContent)
	} else {
		w.WriteHeader(http.StatusOK)
	}
	// The server's read and write timeouts run from the start of the request; a large
	// file to a slow client takes longer. The request is read, so lift the read
	// deadline (its expiry would cancel the request), and give every chunk its own
	// write deadline: a stalled client is still cut off, a slow one is not.
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Time{})
	extend := func() {
		if g.cfg.WriteTimeout > 0 {
			_ = rc.SetWriteDeadline(time.Now().Add(g.cfg.WriteTimeout))
		}
	}
	extend()
	if _, err := w.Write(first.GetChunk()); err != nil {
		return
	}
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			g.log.WarnContext(ctx, "download stream broke", "file", name, "err", err)
			return // headers are sent; the short body tells the client
		}
		extend()
		if _, err := w.Write(msg.GetChunk()); err != nil {
			return
		}
	}
}
