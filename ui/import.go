package ui

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"gatehouse/appliance/directory"
	"gatehouse/appliance/field"
	"gatehouse/appliance/store"
	"gatehouse/ui/views"
)

const maxImportBytes = 20 << 20

// importJobs tracks running and recent imports so their pages can show
// progress. One import runs at a time; finished jobs are kept an hour.
type importJobs struct {
	mu      sync.Mutex
	jobs    map[string]*importJob
	running bool
}

type importJob struct {
	owner    string
	view     views.ImportJob
	finished time.Time
}

func newImportJobs() *importJobs { return &importJobs{jobs: map[string]*importJob{}} }

func (j *importJobs) start(id, owner string) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.running {
		return false
	}
	j.running = true
	j.jobs[id] = &importJob{owner: owner, view: views.ImportJob{ID: id, Phase: "queued"}}
	return true
}

func (j *importJobs) update(id string, f func(v *views.ImportJob)) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if job, ok := j.jobs[id]; ok {
		f(&job.view)
	}
}

func (j *importJobs) finish(id string, now time.Time, f func(v *views.ImportJob)) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.running = false
	if job, ok := j.jobs[id]; ok {
		f(&job.view)
		job.finished = now
	}
}

func (j *importJobs) get(id, owner string) (views.ImportJob, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	job, ok := j.jobs[id]
	if !ok || job.owner != owner {
		return views.ImportJob{}, false
	}
	v := job.view
	v.Errs = append(field.Errors(nil), v.Errs...)
	return v, true
}

func (j *importJobs) sweep(now time.Time) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for id, job := range j.jobs {
		if !job.finished.IsZero() && now.Sub(job.finished) > time.Hour {
			delete(j.jobs, id)
		}
	}
}

func (s *Server) importPage(c echo.Context) error {
	return s.render(c, http.StatusOK, views.ImportPage(""))
}

func (s *Server) importTemplate(c echo.Context) error {
	c.Response().Header().Set("Content-Disposition", `attachment; filename="employees.csv"`)
	// The BOM makes Excel open the file as UTF-8.
	return c.Blob(http.StatusOK, "text/csv; charset=utf-8", []byte("\xEF\xBB\xBF"+directory.CSVHeader+"\r\n"))
}

// importStart reads the upload and runs the import in the background; the
// browser is sent to the job's page, which polls for progress.
func (s *Server) importStart(c echo.Context) error {
	l := langOf(c)
	fh, err := c.FormFile("file")
	if err != nil {
		return s.render(c, http.StatusUnprocessableEntity, views.ImportPage(l.T("import.no_file")))
	}
	if fh.Size > maxImportBytes {
		return s.render(c, http.StatusRequestEntityTooLarge, views.ImportPage(l.T("import.too_big")))
	}
	f, err := fh.Open()
	if err != nil {
		return err
	}
	data, err := io.ReadAll(io.LimitReader(f, maxImportBytes+1))
	f.Close()
	if err != nil {
		return err
	}
	id := store.NewID(s.app.Clock.Now())
	owner := userOf(c).ID
	if !s.imports.start(id, owner) {
		return s.render(c, http.StatusConflict, views.ImportPage(l.T("import.busy")))
	}
	act := actor(c)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.runImport(s.ctx, id, act, data)
	}()
	return s.redirect(c, "/directory/import/"+id)
}

func (s *Server) runImport(ctx context.Context, id, act string, data []byte) {
	n, err := s.app.Directory.ImportEmployeesCSV(ctx, act, data, func(p directory.Progress) {
		s.imports.update(id, func(v *views.ImportJob) { v.Phase, v.Done, v.Total = p.Phase, p.Done, p.Total })
	})
	s.imports.finish(id, s.app.Clock.Now(), func(v *views.ImportJob) {
		if err == nil {
			v.Phase, v.Written = "done", n
			return
		}
		v.Phase = "failed"
		if es, ok := field.As(err); ok {
			v.Errs = es
			v.More = len(es) >= 100
			return
		}
		if errors.Is(err, directory.ErrImportRunning) {
			v.Failure = "import.busy"
			return
		}
		v.Failure = "error.internal"
		s.log.Error("import failed", "job", id, "err", err)
	})
	s.log.Info("import finished", "job", id, "rows", n, "ok", err == nil)
}

func (s *Server) importStatus(c echo.Context) error {
	j, ok := s.imports.get(c.Param("job"), userOf(c).ID)
	if !ok {
		return echo.ErrNotFound
	}
	return s.render(c, http.StatusOK, views.ImportStatusPage(j))
}
