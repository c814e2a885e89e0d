package gateway

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/rs/zerolog"
)

// The directory layer's log lines (a failed compensation) carry the id of the
// request they belong to: they log with its context, and the hook adds the id.
func TestDirectoryLogLinesCarryTheRequestID(t *testing.T) {
	var buf bytes.Buffer
	log := zerolog.New(&buf).Hook(requestIDHook{})
	ctx := context.WithValue(context.Background(), infoKey{}, &reqInfo{id: "req-42"})
	log.Error().Ctx(ctx).Msg("a step failed")
	log.Error().Ctx(context.Background()).Msg("outside a request")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"request_id":"req-42"`) || strings.Contains(lines[1], "request_id") {
		t.Errorf("log:\n%s", buf.String())
	}
}
