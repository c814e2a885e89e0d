package mapping

import (
	"fmt"
	"strings"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// node is a YAML value with its position, so that every problem in a mapping file
// can be reported as file:line:col (goccy/go-yaml gives positions).
type node struct {
	Line, Col int
	Kind      nodeKind
	Scalar    string  // for scalars; "" for null
	Keys      []*node // for maps: key nodes, in file order
	Values    []*node // for maps: values (parallel to Keys); for sequences: items
}

type nodeKind int

const (
	scalarNode nodeKind = iota
	mapNode
	seqNode
	nullNode
)

func (k nodeKind) String() string {
	return [...]string{"a scalar", "a mapping", "a list", "null"}[k]
}

// Problem is one thing wrong in a mapping file, at a 1-based line and column.
type Problem struct {
	File      string
	Line, Col int
	Msg       string
}

func (p Problem) String() string { return fmt.Sprintf("%s:%d:%d: %s", p.File, p.Line, p.Col, p.Msg) }

// Problems is every problem found in a mapping file. Its Error lists them one a line.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// parseTree parses YAML text into a node tree. A syntax error is returned as one Problem.
func parseTree(file string, data []byte) (*node, *Problem) {
	// Duplicate keys are reported by the loader with both positions, among the
	// other problems, rather than stopping the parse.
	f, err := parser.ParseBytes(data, 0, parser.AllowDuplicateMapKey())
	if err != nil {
		line, col := 1, 1
		msg := err.Error()
		// goccy's message starts "[line:col] message" and follows with a source excerpt.
		if _, e := fmt.Sscanf(msg, "[%d:%d]", &line, &col); e == nil {
			if i := strings.Index(msg, "] "); i >= 0 {
				msg = msg[i+2:]
			}
		}
		msg, _, _ = strings.Cut(msg, "\n")
		return nil, &Problem{File: file, Line: line, Col: col, Msg: "YAML syntax: " + strings.TrimSpace(msg)}
	}
	if len(f.Docs) == 0 || f.Docs[0].Body == nil {
		return &node{Line: 1, Col: 1, Kind: nullNode}, nil
	}
	return convert(f.Docs[0].Body), nil
}

func convert(n ast.Node) *node {
	pos := n.GetToken().Position
	out := &node{Line: pos.Line, Col: pos.Column}
	switch v := n.(type) {
	case *ast.MappingNode:
		out.Kind = mapNode
		for _, mv := range v.Values {
			out.Keys = append(out.Keys, convert(mv.Key))
			out.Values = append(out.Values, convert(mv.Value))
		}
		if len(v.Values) > 0 {
			out.Line, out.Col = out.Keys[0].Line, out.Keys[0].Col
		}
	case *ast.MappingValueNode:
		out.Kind = mapNode
		out.Keys = []*node{convert(v.Key)}
		out.Values = []*node{convert(v.Value)}
		out.Line, out.Col = out.Keys[0].Line, out.Keys[0].Col
	case *ast.SequenceNode:
		out.Kind = seqNode
		for _, item := range v.Values {
			out.Values = append(out.Values, convert(item))
		}
	case *ast.NullNode:
		out.Kind = nullNode
	case *ast.TagNode:
		return convert(v.Value)
	case *ast.AnchorNode:
		return convert(v.Value)
	case *ast.AliasNode:
		out.Kind = scalarNode
		out.Scalar = v.String()
	case *ast.StringNode:
		out.Scalar = v.Value
	case *ast.LiteralNode:
		out.Scalar = v.Value.Value
	default:
		out.Scalar = n.GetToken().Value
	}
	return out
}

// get returns the value of key (exact match) in a map node, or nil.
func (n *node) get(key string) *node {
	if n == nil || n.Kind != mapNode {
		return nil
	}
	for i, k := range n.Keys {
		if k.Scalar == key {
			return n.Values[i]
		}
	}
	return nil
}
