/*
 * info.c -- the inspection API (wasync.h) and the function names of the
 * "name" custom section.
 *
 * The name section is read leniently: it is an optional debugging aid, so
 * anything malformed in it (bad LEB, out-of-range index, bad UTF-8, a
 * truncated subsection) simply leaves the remaining names absent.  Only
 * subsection 1 (function names) is read.
 */
#include "module.h"
#include "reader.h"

#include <string.h>

static const char *const section_names[14] = {
    "custom", "type",  "import", "function", "table", "memory",    "global",
    "export", "start", "elem",   "code",     "data",  "datacount", "tag"};

void wasync_module_counts(const WasyncModule *m, WasyncModuleCounts *out) {
  memset(out, 0, sizeof *out);
  out->types = m->ntypes;
  out->imports = m->nimports;
  out->funcs = m->nfuncs;
  out->func_imports = m->nfunc_imports;
  out->tables = m->ntables;
  out->table_imports = m->ntable_imports;
  out->memories = m->nmemories;
  out->memory_imports = m->nmemory_imports;
  out->globals = m->nglobals;
  out->global_imports = m->nglobal_imports;
  out->tags = m->ntags;
  out->tag_imports = m->ntag_imports;
  out->exports = m->nexports;
  out->elems = m->nelems;
  out->datas = m->ndatas;
  out->customs = m->ncustoms;
  out->sections = m->nsections;
  out->has_start = m->has_start;
  out->start = m->start;
}

bool wasync_module_section(const WasyncModule *m, uint32_t index,
                           WasyncSectionInfo *out) {
  if (index >= m->nsections) return false;
  const WasyncSection *s = &m->sections[index];
  out->id = s->id;
  out->offset = s->offset;
  out->size = s->size;
  if (s->id == WASYNC_SEC_CUSTOM && s->custom < m->ncustoms) {
    out->name = (const char *)m->customs[s->custom].name.bytes;
    out->name_len = m->customs[s->custom].name.len;
  } else {
    out->name = s->id < 14 ? section_names[s->id] : "unknown";
    out->name_len = strlen(out->name);
  }
  return true;
}

bool wasync_module_import(const WasyncModule *m, uint32_t index,
                          WasyncImportInfo *out) {
  if (index >= m->nimports) return false;
  const WasyncImport *imp = &m->imports[index];
  out->module = (const char *)imp->module.bytes;
  out->module_len = imp->module.len;
  out->field = (const char *)imp->field.bytes;
  out->field_len = imp->field.len;
  out->kind = (WasyncExternKind)imp->kind;
  out->index = imp->index;
  return true;
}

bool wasync_module_export(const WasyncModule *m, uint32_t index,
                          WasyncExportInfo *out) {
  if (index >= m->nexports) return false;
  const WasyncExport *e = &m->exports[index];
  out->name = (const char *)e->name.bytes;
  out->name_len = e->name.len;
  out->kind = (WasyncExternKind)e->kind;
  out->index = e->index;
  return true;
}

bool wasync_module_func(const WasyncModule *m, uint32_t index,
                        WasyncFuncInfo *out) {
  if (index >= m->nfuncs) return false;
  const WasyncFunc *f = &m->funcs[index];
  const WasyncName *names =
      wasync_module_func_names((WasyncModule *)(uintptr_t)m);
  out->name =
      names && names[index].bytes ? (const char *)names[index].bytes : NULL;
  out->name_len = out->name ? names[index].len : 0;
  out->type = f->type;
  out->imported = index < m->nfunc_imports;
  out->body_offset = out->imported ? 0 : f->code.offset;
  out->body_size = out->imported ? 0 : f->code.size;
  return true;
}

/* Reads the function-names subsection into names[]; stops at the first
 * malformed byte. */
static void read_func_names(WasyncModule *m, const WasyncCustom *c,
                            WasyncName *names) {
  WasyncError err = {0};
  WasyncReader r = {c->payload, 0, c->size, &err};
  while (r.pos < r.end) {
    uint8_t id;
    uint32_t size;
    if (!wasync_read_u8(&r, "subsection id", &id) ||
        !wasync_read_u32(&r, "subsection size", &size) || size > r.end - r.pos)
      return;
    if (id != 1) {
      r.pos += size;
      continue;
    }
    WasyncReader s = {c->payload, r.pos, r.pos + size, &err};
    uint32_t n;
    if (!wasync_read_u32(&s, "count", &n)) return;
    for (uint32_t i = 0; i < n; i++) {
      uint32_t idx, len;
      const uint8_t *bytes;
      if (!wasync_read_u32(&s, "function index", &idx) ||
          !wasync_read_name(&s, "name", &bytes, &len))
        return;
      if (idx < m->nfuncs) {
        names[idx].bytes = bytes;
        names[idx].len = len;
      }
    }
    return;
  }
}

const WasyncName *wasync_module_func_names(WasyncModule *m) {
  if (m->func_names_done) return m->func_names;
  m->func_names_done = true;
  for (uint32_t i = 0; i < m->ncustoms; i++) {
    const WasyncCustom *c = &m->customs[i];
    if (c->name.len == 4 && memcmp(c->name.bytes, "name", 4) == 0) {
      if (!m->func_names) {
        m->func_names =
            wasync_arena_array(&m->arena, m->nfuncs, sizeof *m->func_names);
        if (!m->func_names) return NULL;
      }
      read_func_names(m, c, m->func_names);
      break;
    }
  }
  return m->func_names;
}
