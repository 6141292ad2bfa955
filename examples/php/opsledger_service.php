<?php
// A PHP service using opsledger's C ABI (include/opsledger/opsledger.h) through PHP's FFI
// extension (Debian: php-cli, which ships FFI; the CLI enables it by default).
//
//   php opsledger_service.php --db DIR [--lib PATH/libopsledger.so] [--nosync]
//
// It registers a tenant, asks the start gate for a backup ("Backup now", a nonce-policy type:
// every click carries its own nonce), runs the accepted run to completion as a worker would,
// and reads the events that the completion appended.
//
// FFI::cdef takes plain declarations, no preprocessor: the ones this script uses are
// copied from opsledger.h below. Keep them in step with the header.
declare(strict_types=1);

const OPSLEDGER_CDEF = <<<'C'
typedef struct opsledger_options {
  uint32_t struct_size;
  uint32_t durability;
  uint64_t initial_map_size_bytes;
  uint64_t max_map_size_bytes;
} opsledger_options;
typedef struct opsledger_db opsledger_t;
const char* opsledger_version(void);
void opsledger_options_init(opsledger_options* options);
int opsledger_open(const char* dir, const opsledger_options* options, opsledger_t** out);
void opsledger_close(opsledger_t* db);
char* opsledger_execute(opsledger_t* db, const char* command_json);
int opsledger_read_events(opsledger_t* db, uint64_t after_seq, size_t max_events, char** lines_out,
                          uint64_t* last_seq_out);
uint64_t opsledger_last_seq(opsledger_t* db);
void opsledger_free(char* s);
const char* opsledger_last_error(void);
C;

const OPSLEDGER_OK = 0;
const OPSLEDGER_NOSYNC = 1;

final class Opsledger
{
    private FFI $ffi;
    private ?FFI\CData $db;

    public function __construct(string $lib, string $dir, bool $nosync)
    {
        $this->ffi = FFI::cdef(OPSLEDGER_CDEF, $lib);
        $options = $this->ffi->new('opsledger_options');
        $this->ffi->opsledger_options_init(FFI::addr($options));
        if ($nosync) {
            $options->durability = OPSLEDGER_NOSYNC;
        }
        $db = $this->ffi->new('opsledger_t*');
        $rc = $this->ffi->opsledger_open($dir, FFI::addr($options), FFI::addr($db));
        if ($rc !== OPSLEDGER_OK) {
            throw new RuntimeException("cannot open $dir ($rc): " . $this->ffi->opsledger_last_error());
        }
        $this->db = $db;
    }

    public function version(): string
    {
        return $this->ffi->opsledger_version();
    }

    public function close(): void
    {
        if ($this->db !== null) {
            $this->ffi->opsledger_close($this->db);
            $this->db = null;
        }
    }

    // Copies a library-owned string and frees it.
    private function take(?FFI\CData $p): string
    {
        if ($p === null) {
            throw new RuntimeException('opsledger could not allocate an answer');
        }
        try {
            return FFI::string($p);
        } finally {
            $this->ffi->opsledger_free($p);
        }
    }

    /** Sends one command and returns the answer, both as PHP arrays. */
    public function execute(array $command): array
    {
        $json = json_encode($command, JSON_THROW_ON_ERROR | JSON_UNESCAPED_SLASHES);
        return json_decode($this->take($this->ffi->opsledger_execute($this->db, $json)), true, 512,
            JSON_THROW_ON_ERROR);
    }

    /** The events after $seq as arrays, and the seq to continue from. */
    public function eventsAfter(int $seq): array
    {
        $lines = $this->ffi->new('char*');
        $last = $this->ffi->new('uint64_t');
        $rc = $this->ffi->opsledger_read_events($this->db, $seq, 0, FFI::addr($lines), FFI::addr($last));
        if ($rc !== OPSLEDGER_OK) {
            throw new RuntimeException("read_events failed ($rc): " . $this->ffi->opsledger_last_error());
        }
        $events = [];
        foreach (explode("\n", rtrim($this->take($lines), "\n")) as $line) {
            if ($line !== '') {
                $events[] = json_decode($line, true, 512, JSON_THROW_ON_ERROR);
            }
        }
        return [$events, $last->cdata];
    }

    public function lastSeq(): int
    {
        return $this->ffi->opsledger_last_seq($this->db);
    }
}

function expect_ok(array $answer, string $what): array
{
    if (!($answer['ok'] ?? false)) {
        throw new RuntimeException("$what rejected: " . json_encode($answer['error']));
    }
    return $answer;
}

$opts = getopt('', ['db:', 'lib:', 'nosync']);
if (!isset($opts['db'])) {
    fwrite(STDERR, "usage: php opsledger_service.php --db DIR [--lib PATH] [--nosync]\n");
    exit(64);
}
$lib = $opts['lib'] ?? (getenv('OPSLEDGER_LIB') ?: 'libopsledger.so');

try {
    $db = new Opsledger($lib, $opts['db'], isset($opts['nosync']));
    echo 'opsledger ', $db->version(), "\n";
    $ada = ['kind' => 'user', 'user_id' => 7, 'name' => 'Ada'];
    $setup = [
        ['cmd' => 'register_workspace', 'request_id' => 'php-ws', 'workspace_id' => 1, 'name' => 'Contoso'],
        ['cmd' => 'register_tenant', 'request_id' => 'php-tenant', 'workspace_id' => 1, 'tenant_id' => 10,
            'name' => 'Contoso EU'],
        ['cmd' => 'grant_membership', 'request_id' => 'php-member', 'workspace_id' => 1, 'user_id' => 7,
            'role' => 'operator'],
        ['cmd' => 'register_provider_connection', 'request_id' => 'php-conn', 'workspace_id' => 1,
            'tenant_id' => 10, 'provider_connection_id' => 100, 'provider' => 'microsoft',
            'display_name' => 'Contoso Graph'],
        ['cmd' => 'set_default_provider_connection', 'request_id' => 'php-default', 'tenant_id' => 10,
            'provider_connection_id' => 100],
        ['cmd' => 'update_provider_connection', 'request_id' => 'php-ready', 'provider_connection_id' => 100,
            'consent' => 'granted', 'credentials' => 'usable', 'permissions' => 'ok'],
    ];
    foreach ($setup as $command) {
        expect_ok($db->execute($command), $command['cmd']);
    }

    // The click: "Backup now" on schedule 5. The nonce is the click's own.
    $start = expect_ok($db->execute([
        'cmd' => 'start', 'request_id' => 'php-click-1', 'actor' => $ada, 'workspace_id' => 1,
        'tenant_id' => 10, 'type' => 'backup_schedule.run_now', 'nonce' => 'click-1',
        'context' => ['backup_schedule_id' => 5],
    ]), 'start');
    $runId = $start['run_id'];
    echo "start: {$start['decision']} run $runId ({$start['label']})\n";

    // The worker's side: the run begins, then completes.
    expect_ok($db->execute(['cmd' => 'begin_run', 'run_id' => $runId]), 'begin_run');
    $since = $db->lastSeq();
    expect_ok($db->execute([
        'cmd' => 'complete_run', 'run_id' => $runId, 'outcome' => 'succeeded',
        'counts' => ['total' => 3, 'succeeded' => 3],
    ]), 'complete_run');
    $run = expect_ok($db->execute(['cmd' => 'get_run', 'run_id' => $runId, 'actor' => $ada]), 'get_run')['run'];
    echo "run $runId: {$run['status']} {$run['outcome']}\n";

    [$events, $seq] = $db->eventsAfter($since);
    foreach ($events as $event) {
        echo "event {$event['seq']}: {$event['type']}\n";
    }
    echo "read up to seq $seq\n";
    $db->close();
} catch (Throwable $e) {
    fwrite(STDERR, 'opsledger_service.php: ' . $e->getMessage() . "\n");
    exit(1);
}
