/* A C11 program built against an installed opsledger through pkg-config (tests/install_test.sh). */
#include <opsledger/opsledger.h>

#include <stdio.h>
#include <string.h>

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: consumer DIR\n");
    return 64;
  }
  opsledger_options options;
  opsledger_options_init(&options);
  options.durability = OPSLEDGER_NOSYNC;
  options.snapshot_every_events = 1;
  opsledger_t* db = NULL;
  int rc = opsledger_open(argv[1], &options, &db);
  if (rc != OPSLEDGER_OK) {
    fprintf(stderr, "open failed (%d): %s\n", rc, opsledger_last_error());
    return 1;
  }
  printf("version %s\n", opsledger_version());
  char* answer = opsledger_execute(db, "{\"cmd\":\"register_workspace\",\"workspace_id\":1,\"name\":\"Contoso\"}");
  printf("answer %s\n", answer ? answer : "(null)");
  int ok = answer && strncmp(answer, "{\"ok\":true", 10) == 0;
  opsledger_free(answer);
  char* lines = NULL;
  uint64_t last = 0;
  rc = opsledger_read_events(db, opsledger_last_seq(db) - 1, 0, &lines, &last);
  printf("events rc %d last %llu %s", rc, (unsigned long long)last, lines ? lines : "(null)\n");
  opsledger_free(lines);
  int waited = opsledger_wait_for_snapshots(db);
  printf("waited for snapshots rc %d\n", waited);
  opsledger_close(db);
  return ok && rc == OPSLEDGER_OK && waited == OPSLEDGER_OK ? 0 : 1;
}
