package ui

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"gatehouse/cluster"
	"gatehouse/ui/views"
)

// The administrator's page of a site of several lobbies (cluster/): its
// members, the leader, how far this node has applied; a join token for a
// new lobby; removing a node. On a single appliance it says how to form a
// site.

func (s *Server) clusterData() views.ClusterData {
	n := s.app.Node
	if n == nil {
		return views.ClusterData{}
	}
	d := views.ClusterData{Member: true, Status: n.Status(), Address: n.Address(), Waiting: s.app.Access.Shipping().Waiting}
	if since := n.CutOffSince(); !since.IsZero() {
		d.CutOff = since.In(s.app.Config.Location).Format("01-02 15:04:05")
	}
	return d
}

func (s *Server) clusterPage(c echo.Context) error {
	return s.render(c, http.StatusOK, views.Cluster(s.clusterData()))
}

func (s *Server) clusterToken(c echo.Context) error {
	n := s.app.Node
	if n == nil {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	voter := c.FormValue("non_voter") != "yes"
	tok, exp, err := n.IssueToken(c.Request().Context(), actor(c), cluster.TokenTTL, voter)
	d := s.clusterData()
	if err != nil {
		if !errors.Is(err, cluster.ErrNoQuorum) && !errors.Is(err, cluster.ErrUncertain) {
			return err
		}
		d.Error = "error.cut_off"
		return s.render(c, http.StatusServiceUnavailable, views.Cluster(d))
	}
	d.Token, d.Expires = tok.String(), exp
	return s.render(c, http.StatusOK, views.Cluster(d))
}

func (s *Server) clusterRemove(c echo.Context) error {
	n := s.app.Node
	if n == nil {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	id := c.FormValue("id")
	d := s.clusterData()
	if c.FormValue("confirm") != id {
		d.Error = "cluster.remove.mismatch"
		return s.render(c, http.StatusUnprocessableEntity, views.Cluster(d))
	}
	if id == n.ID() {
		d.Error = "cluster.remove.self"
		return s.render(c, http.StatusUnprocessableEntity, views.Cluster(d))
	}
	err := n.Remove(id)
	if err == nil {
		s.app.Log.Info("a node was removed from the site", "node", id, "by", actor(c))
		return s.redirect(c, "/admin/cluster")
	}
	switch {
	case errors.Is(err, cluster.ErrUnknownNode):
		d.Error = "cluster.remove.unknown"
	default:
		// Not the leader, or no quorum: the leader's page (or the shell
		// on any node) removes nodes.
		d.Error = "cluster.remove.not_leader"
	}
	d.Status = n.Status()
	return s.render(c, http.StatusConflict, views.Cluster(d))
}
