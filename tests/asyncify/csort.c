// A C program (clang --target=wasm32-wasi, wasi-libc): libc's qsort calls a
// comparator that suspends (indirect calls from inside libc), and a
// recursive walk over a malloc'ed tree suspends at every node.
// run: sort 40 7
// run: sort 3 1
// run: tree 6
// run: strings 5
#include <stdlib.h>
#include <string.h>

#define IMPORT(n) __attribute__((import_module("env"), import_name(n)))
#define EXPORT(n) __attribute__((export_name(n)))

IMPORT("sleep") int host_sleep(int);
IMPORT("log") void host_log(int);

// the asyncify data buffer the test driver uses (see scenarios.mjs)
static char data_buffer[65536] __attribute__((aligned(16)));
EXPORT("test_data_buffer") int test_data_buffer(void) { return (int)(long)data_buffer; }
EXPORT("test_data_size") int test_data_size(void) { return (int)sizeof data_buffer; }

static int cmp_int(const void *a, const void *b) {
  int x = *(const int *)a, y = *(const int *)b;
  return host_sleep(x) - host_sleep(y); // x*7+3 on the host: monotonic
}

EXPORT("sort") int sort(int n, int seed) {
  int a[64];
  if (n > 64) n = 64;
  unsigned s = (unsigned)seed;
  for (int i = 0; i < n; i++) {
    s = s * 1103515245u + 12345u;
    a[i] = (int)((s >> 16) % 1000);
  }
  qsort(a, (size_t)n, sizeof a[0], cmp_int);
  int sum = 0;
  for (int i = 0; i < n; i++) sum = sum * 31 + a[i] * (i + 1);
  host_log(a[0]);
  host_log(a[n - 1]);
  return sum;
}

typedef struct Node {
  struct Node *left, *right;
  double weight;
  long long id;
} Node;

static Node *build(int depth, long long id) {
  if (depth == 0) return NULL;
  Node *n = malloc(sizeof *n);
  n->id = id;
  n->weight = (double)id / 3.0;
  n->left = build(depth - 1, id * 2);
  n->right = build(depth - 1, id * 2 + 1);
  return n;
}

static double walk(const Node *n, int depth) {
  if (!n) return 0;
  double here = n->weight * host_sleep((int)n->id);
  double l = walk(n->left, depth + 1);
  double r = walk(n->right, depth + 1);
  return here + l * 0.5 - r * 0.25 + depth;
}

static void release(Node *n) {
  if (!n) return;
  release(n->left);
  release(n->right);
  free(n);
}

EXPORT("tree") int tree(int depth) {
  Node *root = build(depth, 1);
  double w = walk(root, 0);
  release(root);
  return (int)(w * 100.0);
}

static int cmp_str(const void *a, const void *b) {
  const char *x = *(const char *const *)a, *y = *(const char *const *)b;
  host_sleep((int)strlen(x));
  return strcmp(x, y);
}

EXPORT("strings") int strings(int rounds) {
  const char *words[] = {"pear", "apple", "fig", "kiwi", "banana", "cherry", "date"};
  int n = (int)(sizeof words / sizeof words[0]);
  int check = 0;
  for (int r = 0; r < rounds; r++) {
    const char *w[7];
    for (int i = 0; i < n; i++) w[i] = words[(i * (r + 2)) % n];
    qsort(w, (size_t)n, sizeof w[0], cmp_str);
    for (int i = 0; i < n; i++) check = check * 7 + (int)w[i][0];
  }
  return check;
}
