"""The schema, as an ordered list of migrations applied at start-up. Never edit a released step: add one."""

from __future__ import annotations

NOW = "(strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))"

MIGRATIONS: list[tuple[str, list[str]]] = [
    (
        "0001_registry",
        [
            f"""CREATE TABLE producers (
                id INTEGER PRIMARY KEY,
                name TEXT NOT NULL,
                type TEXT NOT NULL CHECK (type IN ('enterprise', 'cooperative', 'cooperative_group', 'household')),
                id_type TEXT CHECK (id_type IN ('tax_code', 'personal_id', 'other')),
                id_value TEXT,
                address TEXT,
                commune_code TEXT NOT NULL,
                province_code TEXT NOT NULL,
                phone TEXT,
                email TEXT,
                created_at TEXT NOT NULL DEFAULT {NOW},
                updated_at TEXT NOT NULL DEFAULT {NOW},
                CHECK ((id_type IS NULL) = (id_value IS NULL))
            )""",
            "CREATE UNIQUE INDEX producers_identifier ON producers (id_type, id_value) WHERE id_value IS NOT NULL",
            f"""CREATE TABLE products (
                id INTEGER PRIMARY KEY,
                producer_id INTEGER NOT NULL REFERENCES producers (id),
                name TEXT NOT NULL,
                product_group TEXT NOT NULL,
                gtin TEXT,
                description TEXT,
                image TEXT,
                created_at TEXT NOT NULL DEFAULT {NOW},
                updated_at TEXT NOT NULL DEFAULT {NOW}
            )""",
            "CREATE UNIQUE INDEX products_gtin ON products (gtin) WHERE gtin IS NOT NULL",
            "CREATE INDEX products_producer ON products (producer_id)",
            f"""CREATE TABLE recognitions (
                id INTEGER PRIMARY KEY,
                product_id INTEGER NOT NULL REFERENCES products (id),
                decision_number TEXT NOT NULL,
                decision_date TEXT NOT NULL,
                issuing_body TEXT NOT NULL,
                level TEXT NOT NULL CHECK (level IN ('district', 'province', 'national')),
                stars INTEGER NOT NULL CHECK (stars BETWEEN 3 AND 5),
                valid_from TEXT NOT NULL,
                valid_until TEXT NOT NULL,
                status TEXT NOT NULL DEFAULT 'valid' CHECK (status IN ('valid', 'revoked', 'superseded')),
                revoked_at TEXT,
                revocation_reason TEXT,
                created_at TEXT NOT NULL DEFAULT {NOW},
                CHECK (valid_until > valid_from)
            )""",
            "CREATE INDEX recognitions_product ON recognitions (product_id)",
            f"""CREATE TABLE users (
                id INTEGER PRIMARY KEY,
                email TEXT NOT NULL UNIQUE COLLATE NOCASE,
                name TEXT,
                password_hash TEXT NOT NULL,
                role TEXT NOT NULL CHECK (role IN ('admin', 'producer', 'inspector')),
                producer_id INTEGER REFERENCES producers (id),
                disabled INTEGER NOT NULL DEFAULT 0,
                created_at TEXT NOT NULL DEFAULT {NOW},
                CHECK ((role = 'producer') = (producer_id IS NOT NULL))
            )""",
            f"""CREATE TABLE batches (
                id INTEGER PRIMARY KEY,
                product_id INTEGER NOT NULL REFERENCES products (id),
                lot TEXT NOT NULL,
                production_date TEXT NOT NULL,
                expiry_date TEXT,
                quantity INTEGER NOT NULL CHECK (quantity > 0),
                origin_commune_code TEXT NOT NULL,
                origin_province_code TEXT NOT NULL,
                notes TEXT,
                created_by INTEGER REFERENCES users (id),
                recalled_at TEXT,
                recall_reason TEXT,
                created_at TEXT NOT NULL DEFAULT {NOW},
                UNIQUE (product_id, lot)
            )""",
            "CREATE INDEX batches_product ON batches (product_id)",
            f"""CREATE TABLE api_tokens (
                id INTEGER PRIMARY KEY,
                user_id INTEGER NOT NULL REFERENCES users (id),
                token_hash TEXT NOT NULL UNIQUE,
                label TEXT,
                created_at TEXT NOT NULL DEFAULT {NOW},
                last_used_at TEXT
            )""",
        ],
    ),
]

MIGRATIONS.append(
    (
        "0002_stamp_runs",
        [
            # One row per issuing run, never per stamp: a run is a serial range plus the claims every stamp of
            # it shares, so any stamp's QR text can be derived again from the run and its serial.
            f"""CREATE TABLE runs (
                id INTEGER PRIMARY KEY,
                batch_id INTEGER NOT NULL REFERENCES batches (id),
                first_serial INTEGER NOT NULL UNIQUE,
                last_serial INTEGER NOT NULL UNIQUE,
                initial_state TEXT NOT NULL CHECK (initial_state IN ('active', 'inactive')),
                issuer TEXT NOT NULL,
                issued_at TEXT NOT NULL,
                kid TEXT NOT NULL,
                product_id INTEGER NOT NULL,
                stars INTEGER NOT NULL,
                origin_commune_code TEXT NOT NULL,
                production_date TEXT NOT NULL,
                expiry_date TEXT,
                certificate_valid_until TEXT NOT NULL,
                created_by INTEGER REFERENCES users (id),
                created_at TEXT NOT NULL DEFAULT {NOW},
                CHECK (last_serial >= first_serial AND first_serial > 0)
            )""",
            "CREATE INDEX runs_batch ON runs (batch_id)",
            # Activation and voiding change ranges of serials; the newest change covering a serial wins.
            f"""CREATE TABLE range_states (
                id INTEGER PRIMARY KEY,
                run_id INTEGER NOT NULL REFERENCES runs (id),
                first_serial INTEGER NOT NULL,
                last_serial INTEGER NOT NULL,
                state TEXT NOT NULL CHECK (state IN ('active', 'inactive', 'void')),
                note TEXT,
                changed_by INTEGER REFERENCES users (id),
                changed_at TEXT NOT NULL DEFAULT {NOW},
                CHECK (last_serial >= first_serial)
            )""",
            "CREATE INDEX range_states_run ON range_states (run_id)",
        ],
    )
)

MIGRATIONS.append(
    (
        "0003_scans_reports",
        [
            # One row per verification. No raw IP address: net_hash is a salted hash of the network prefix.
            f"""CREATE TABLE scans (
                id INTEGER PRIMARY KEY,
                at TEXT NOT NULL DEFAULT {NOW},
                serial INTEGER,
                run_id INTEGER REFERENCES runs (id),
                batch_id INTEGER REFERENCES batches (id),
                verdict TEXT NOT NULL,
                source TEXT NOT NULL CHECK (source IN ('qr', 'typed', 'api')),
                device TEXT,
                net_hash TEXT,
                ua_family TEXT,
                province_code TEXT
            )""",
            "CREATE INDEX scans_serial_at ON scans (serial, at)",
            "CREATE INDEX scans_run_at ON scans (run_id, at)",
            "CREATE INDEX scans_at ON scans (at)",
            f"""CREATE TABLE reports (
                id INTEGER PRIMARY KEY,
                at TEXT NOT NULL DEFAULT {NOW},
                serial INTEGER,
                code TEXT,
                what TEXT NOT NULL,
                where_bought TEXT,
                contact TEXT,
                photo TEXT,
                device TEXT,
                net_hash TEXT,
                status TEXT NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'reviewed', 'closed'))
            )""",
            "CREATE INDEX reports_device_at ON reports (device, at)",
            "CREATE INDEX reports_net_at ON reports (net_hash, at)",
        ],
    )
)

MIGRATIONS.append(
    (
        "0004_print_settings",
        [
            # Printer calibration is a property of one producer's printer, so it is remembered per producer.
            f"""CREATE TABLE print_settings (
                id INTEGER PRIMARY KEY,
                producer_id INTEGER NOT NULL UNIQUE REFERENCES producers (id),
                template TEXT,
                offset_x_mm REAL NOT NULL DEFAULT 0,
                offset_y_mm REAL NOT NULL DEFAULT 0,
                scale_x REAL NOT NULL DEFAULT 1,
                scale_y REAL NOT NULL DEFAULT 1,
                updated_at TEXT NOT NULL DEFAULT {NOW}
            )""",
        ],
    )
)

MIGRATIONS.append(
    (
        "0005_inspection",
        [
            # A case flags a stamp, a range of a run or a whole batch; a confirmed one changes the public verdict.
            f"""CREATE TABLE cases (
                id INTEGER PRIMARY KEY,
                kind TEXT NOT NULL CHECK (kind IN ('stamp', 'range', 'batch')),
                run_id INTEGER REFERENCES runs (id),
                serial_from INTEGER,
                serial_to INTEGER,
                batch_id INTEGER NOT NULL REFERENCES batches (id),
                status TEXT NOT NULL DEFAULT 'suspected' CHECK (status IN ('suspected', 'confirmed', 'dismissed')),
                title TEXT NOT NULL,
                notes TEXT,
                created_by INTEGER REFERENCES users (id),
                created_at TEXT NOT NULL DEFAULT {NOW},
                updated_at TEXT NOT NULL DEFAULT {NOW},
                CHECK ((kind = 'batch') = (serial_from IS NULL))
            )""",
            "CREATE INDEX cases_batch ON cases (batch_id)",
            "CREATE INDEX cases_serials ON cases (serial_from, serial_to)",
            f"""CREATE TABLE case_photos (
                id INTEGER PRIMARY KEY,
                case_id INTEGER NOT NULL REFERENCES cases (id),
                file TEXT NOT NULL,
                created_at TEXT NOT NULL DEFAULT {NOW}
            )""",
            # An inspection visit to a shop, and each stamp checked there.
            f"""CREATE TABLE visits (
                id INTEGER PRIMARY KEY,
                inspector_id INTEGER NOT NULL REFERENCES users (id),
                shop TEXT NOT NULL,
                address TEXT,
                province_code TEXT,
                notes TEXT,
                started_at TEXT NOT NULL DEFAULT {NOW},
                closed_at TEXT
            )""",
            f"""CREATE TABLE visit_checks (
                id INTEGER PRIMARY KEY,
                visit_id INTEGER NOT NULL REFERENCES visits (id),
                at TEXT NOT NULL DEFAULT {NOW},
                code TEXT NOT NULL,
                serial INTEGER,
                verdict TEXT NOT NULL,
                reasons TEXT,
                photo TEXT,
                note TEXT
            )""",
            "CREATE INDEX visit_checks_visit ON visit_checks (visit_id)",
        ],
    )
)

MIGRATIONS.append(
    (
        "0006_copies_and_claims",
        [
            # Two-layer stamps: a run may carry an 8-digit hidden code per stamp (derived, never stored).
            "ALTER TABLE runs ADD COLUMN hidden_code INTEGER NOT NULL DEFAULT 0 CHECK (hidden_code IN (0, 1))",
            # Scan identity for copy detection (docs/copy-detection.md): the household a scan is counted for,
            # whether its device cookie was minted by this very request (an untrusted, fresh visitor), and whether
            # it is evidence at all (typed serials and anonymous API look-ups are not; repeat views are not stored).
            "ALTER TABLE scans ADD COLUMN household TEXT",
            "ALTER TABLE scans ADD COLUMN fresh INTEGER NOT NULL DEFAULT 0",
            "ALTER TABLE scans ADD COLUMN evidence INTEGER NOT NULL DEFAULT 0",
            "CREATE INDEX scans_run_serial_at ON scans (run_id, serial, at) WHERE evidence = 1",
            "CREATE INDEX scans_device_at ON scans (device, at)",
            # The first successful check of a stamp's hidden code: one row per claimed stamp, never per issued one.
            f"""CREATE TABLE claims (
                serial INTEGER PRIMARY KEY,
                run_id INTEGER NOT NULL REFERENCES runs (id),
                at TEXT NOT NULL DEFAULT {NOW},
                channel TEXT NOT NULL CHECK (channel IN ('web', 'api', 'sms')),
                household TEXT,
                net_hash TEXT,
                province_code TEXT
            )""",
            # Every attempt, right or wrong: the guessing limits count these. An SMS sender is kept only as a
            # salted hash.
            f"""CREATE TABLE claim_attempts (
                id INTEGER PRIMARY KEY,
                at TEXT NOT NULL DEFAULT {NOW},
                serial INTEGER,
                run_id INTEGER REFERENCES runs (id),
                result TEXT NOT NULL CHECK (result IN ('first', 'already-claimed', 'wrong-code', 'limited')),
                channel TEXT NOT NULL CHECK (channel IN ('web', 'api', 'sms')),
                household TEXT,
                net_hash TEXT,
                sender_hash TEXT
            )""",
            "CREATE INDEX claim_attempts_serial_at ON claim_attempts (serial, at)",
            "CREATE INDEX claim_attempts_net_at ON claim_attempts (net_hash, at)",
            "CREATE INDEX claim_attempts_sender_at ON claim_attempts (sender_hash, at)",
            # A copy suspicion raised by the rules, with its evidence: it stays (and keeps the stamp's public
            # verdict at suspected-copy) until an inspector dismisses it.
            f"""CREATE TABLE suspicions (
                id INTEGER PRIMARY KEY,
                serial INTEGER NOT NULL,
                run_id INTEGER REFERENCES runs (id),
                batch_id INTEGER REFERENCES batches (id),
                at TEXT NOT NULL DEFAULT {NOW},
                rule TEXT NOT NULL,
                evidence TEXT NOT NULL,
                households INTEGER NOT NULL,
                networks INTEGER NOT NULL,
                status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'dismissed')),
                dismissed_by INTEGER REFERENCES users (id),
                dismissed_at TEXT
            )""",
            "CREATE INDEX suspicions_serial ON suspicions (serial, status)",
            "CREATE INDEX suspicions_run ON suspicions (run_id)",
            # A new role for SMS gateways (they may only post inbound messages). SQLite cannot alter a CHECK:
            # rebuild the table (migrate() runs with foreign keys off and checks them before committing).
            f"""CREATE TABLE users_new (
                id INTEGER PRIMARY KEY,
                email TEXT NOT NULL UNIQUE COLLATE NOCASE,
                name TEXT,
                password_hash TEXT NOT NULL,
                role TEXT NOT NULL CHECK (role IN ('admin', 'producer', 'inspector', 'gateway')),
                producer_id INTEGER REFERENCES producers (id),
                disabled INTEGER NOT NULL DEFAULT 0,
                created_at TEXT NOT NULL DEFAULT {NOW},
                CHECK ((role = 'producer') = (producer_id IS NOT NULL))
            )""",
            "INSERT INTO users_new SELECT id, email, name, password_hash, role, producer_id, disabled, created_at"
            " FROM users",
            "DROP TABLE users",
            "ALTER TABLE users_new RENAME TO users",
        ],
    )
)

MIGRATIONS.append(
    (
        "0007_sessions_logins_tokens",
        [
            # Server-side sign-ins, so a copied cookie dies at logout, password change or disabling.
            # Only a digest of the session id is kept: a leaked database does not hand out live cookies.
            f"""CREATE TABLE sessions (
                id INTEGER PRIMARY KEY,
                sid_hash TEXT NOT NULL UNIQUE,
                user_id INTEGER NOT NULL REFERENCES users (id),
                created_at TEXT NOT NULL DEFAULT {NOW},
                last_seen_at TEXT NOT NULL DEFAULT {NOW},
                revoked_at TEXT
            )""",
            "CREATE INDEX sessions_user ON sessions (user_id, revoked_at)",
            # Failed sign-ins: the audit trail and the throttle's memory. Never a raw address or e-mail.
            f"""CREATE TABLE failed_logins (
                id INTEGER PRIMARY KEY,
                at TEXT NOT NULL DEFAULT {NOW},
                user_id INTEGER REFERENCES users (id),
                account_hash TEXT NOT NULL,
                net_hash TEXT,
                reason TEXT NOT NULL
            )""",
            "CREATE INDEX failed_logins_account ON failed_logins (account_hash, at)",
            "CREATE INDEX failed_logins_net ON failed_logins (net_hash, at)",
            "ALTER TABLE api_tokens ADD COLUMN scopes TEXT",
            "ALTER TABLE api_tokens ADD COLUMN expires_at TEXT",
            "ALTER TABLE api_tokens ADD COLUMN revoked_at TEXT",
            # Tokens made before scopes existed keep what their role could do, and expire like new ones.
            """UPDATE api_tokens SET scopes = (SELECT CASE users.role
                    WHEN 'admin' THEN 'read issue inspect'
                    WHEN 'producer' THEN 'read issue'
                    WHEN 'inspector' THEN 'read inspect'
                    ELSE 'gateway' END FROM users WHERE users.id = api_tokens.user_id),
                expires_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '+90 days')""",
        ],
    )
)

MIGRATIONS.append(
    (
        "0008_quotas_four_eyes",
        [
            # An admin's override of the daily stamp quota for one producer (NULL: DAILY_STAMP_QUOTA applies).
            "ALTER TABLE producers ADD COLUMN daily_quota INTEGER CHECK (daily_quota IS NULL OR daily_quota >= 0)",
            # Issuing counts stamps per producer per day: runs by time, then by batch.
            "CREATE INDEX runs_issued_at ON runs (issued_at)",
            # A batch- or range-wide case confirmed by one inspector waits ('pending') for a second inspector or an
            # admin. SQLite cannot alter a CHECK: rebuild the table (migrate() runs with foreign keys off).
            f"""CREATE TABLE cases_new (
                id INTEGER PRIMARY KEY,
                kind TEXT NOT NULL CHECK (kind IN ('stamp', 'range', 'batch')),
                run_id INTEGER REFERENCES runs (id),
                serial_from INTEGER,
                serial_to INTEGER,
                batch_id INTEGER NOT NULL REFERENCES batches (id),
                status TEXT NOT NULL DEFAULT 'suspected'
                    CHECK (status IN ('suspected', 'pending', 'confirmed', 'dismissed')),
                title TEXT NOT NULL,
                notes TEXT,
                created_by INTEGER REFERENCES users (id),
                created_at TEXT NOT NULL DEFAULT {NOW},
                updated_at TEXT NOT NULL DEFAULT {NOW},
                CHECK ((kind = 'batch') = (serial_from IS NULL))
            )""",
            "INSERT INTO cases_new SELECT id, kind, run_id, serial_from, serial_to, batch_id, status, title, notes,"
            " created_by, created_at, updated_at FROM cases",
            "DROP TABLE cases",
            "ALTER TABLE cases_new RENAME TO cases",
            "CREATE INDEX cases_batch ON cases (batch_id)",
            "CREATE INDEX cases_serials ON cases (serial_from, serial_to)",
            # Who did what to a case, in order: opened, status changes (with the second confirmation), edits.
            f"""CREATE TABLE case_events (
                id INTEGER PRIMARY KEY,
                case_id INTEGER NOT NULL REFERENCES cases (id),
                at TEXT NOT NULL DEFAULT {NOW},
                user_id INTEGER REFERENCES users (id),
                action TEXT NOT NULL,
                status TEXT
            )""",
            "CREATE INDEX case_events_case ON case_events (case_id, id)",
        ],
    )
)

MIGRATIONS.append(
    (
        "0009_rejected_reports",
        [
            # A report refused for its photo still cost us a decode: it counts against the same hourly limits.
            f"""CREATE TABLE rejected_reports (
                id INTEGER PRIMARY KEY,
                at TEXT NOT NULL DEFAULT {NOW},
                device TEXT,
                net_hash TEXT
            )""",
            "CREATE INDEX rejected_reports_device_at ON rejected_reports (device, at)",
            "CREATE INDEX rejected_reports_net_at ON rejected_reports (net_hash, at)",
        ],
    )
)

MIGRATIONS.append(
    (
        "0010_shop_decision_scan",
        [
            # The office may upload a scan of a recognition's decision; the shopper's page links to it.
            "ALTER TABLE recognitions ADD COLUMN decision_scan TEXT",
        ],
    )
)

MIGRATIONS.append(
    (
        "0011_reports_inbox",
        [
            # A report now moves through an inbox: SQLite cannot alter a CHECK, so the table is rebuilt. The old
            # 'reviewed' becomes 'in_progress' and 'closed' becomes 'resolved'. product_id and province_code (the
            # producer's province) are kept on the row so the inbox filters without reading every run.
            f"""CREATE TABLE reports_new (
                id INTEGER PRIMARY KEY,
                at TEXT NOT NULL DEFAULT {NOW},
                serial INTEGER,
                code TEXT,
                what TEXT NOT NULL,
                where_bought TEXT,
                contact TEXT,
                photo TEXT,
                device TEXT,
                net_hash TEXT,
                status TEXT NOT NULL DEFAULT 'new'
                    CHECK (status IN ('new', 'in_progress', 'resolved', 'unverifiable')),
                product_id INTEGER REFERENCES products (id),
                province_code TEXT,
                assignee_id INTEGER REFERENCES users (id),
                case_id INTEGER REFERENCES cases (id),
                updated_at TEXT
            )""",
            "INSERT INTO reports_new (id, at, serial, code, what, where_bought, contact, photo, device, net_hash,"
            " status) SELECT id, at, serial, code, what, where_bought, contact, photo, device, net_hash,"
            " CASE status WHEN 'reviewed' THEN 'in_progress' WHEN 'closed' THEN 'resolved' ELSE 'new' END"
            " FROM reports",
            "DROP TABLE reports",
            "ALTER TABLE reports_new RENAME TO reports",
            "UPDATE reports SET product_id = (SELECT r.product_id FROM runs r WHERE r.first_serial <= reports.serial"
            " AND r.last_serial >= reports.serial ORDER BY r.id DESC LIMIT 1) WHERE serial IS NOT NULL",
            "UPDATE reports SET province_code = (SELECT pr.province_code FROM products p JOIN producers pr"
            " ON pr.id = p.producer_id WHERE p.id = reports.product_id) WHERE product_id IS NOT NULL",
            "CREATE INDEX reports_device_at ON reports (device, at)",
            "CREATE INDEX reports_net_at ON reports (net_hash, at)",
            "CREATE INDEX reports_status ON reports (status, at)",
            "CREATE INDEX reports_product ON reports (product_id, at)",
            "CREATE INDEX reports_province ON reports (province_code, at)",
            # Who did what to a report, and the staff's notes: appended, never changed or removed.
            f"""CREATE TABLE report_events (
                id INTEGER PRIMARY KEY,
                report_id INTEGER NOT NULL REFERENCES reports (id),
                at TEXT NOT NULL DEFAULT {NOW},
                user_id INTEGER REFERENCES users (id),
                action TEXT NOT NULL CHECK (action IN ('note', 'status', 'assigned', 'case')),
                detail TEXT
            )""",
            "CREATE INDEX report_events_report ON report_events (report_id, id)",
            "CREATE TRIGGER report_events_append_only_update BEFORE UPDATE ON report_events"
            " BEGIN SELECT RAISE(ABORT, 'report_events is append-only'); END",
            "CREATE TRIGGER report_events_append_only_delete BEFORE DELETE ON report_events"
            " BEGIN SELECT RAISE(ABORT, 'report_events is append-only'); END",
        ],
    )
)

MIGRATIONS.append(
    (
        "0012_trace_batch_events",
        [
            # A batch's traceability record (TT 02/2024): one row per production stage, in the producer's words.
            # Append-only: a correction is a new row naming the one it corrects (EPCIS error declaration), so
            # inspectors see both; the triggers keep any UPDATE or DELETE from rewriting the record.
            f"""CREATE TABLE batch_events (
                id INTEGER PRIMARY KEY,
                uuid TEXT NOT NULL UNIQUE,
                batch_id INTEGER NOT NULL REFERENCES batches (id),
                stage TEXT NOT NULL CHECK (stage IN ('planting', 'harvest', 'receiving', 'processing', 'packing',
                                                     'quality_test', 'storage', 'shipping')),
                event_time TEXT NOT NULL,
                tz_offset TEXT NOT NULL,
                commune_code TEXT NOT NULL,
                site TEXT,
                description TEXT,
                inputs TEXT,
                ship_to TEXT,
                photos TEXT,
                corrects INTEGER REFERENCES batch_events (id),
                reason TEXT,
                source TEXT NOT NULL DEFAULT 'portal' CHECK (source IN ('portal', 'api', 'csv', 'epcis', 'demo')),
                created_by INTEGER REFERENCES users (id),
                created_at TEXT NOT NULL DEFAULT {NOW},
                CHECK ((corrects IS NULL) = (reason IS NULL))
            )""",
            "CREATE INDEX batch_events_batch ON batch_events (batch_id, event_time)",
            "CREATE UNIQUE INDEX batch_events_corrects ON batch_events (corrects) WHERE corrects IS NOT NULL",
            "CREATE TRIGGER batch_events_no_update BEFORE UPDATE ON batch_events"
            " BEGIN SELECT RAISE(ABORT, 'batch events are append-only'); END",
            "CREATE TRIGGER batch_events_no_delete BEFORE DELETE ON batch_events"
            " BEGIN SELECT RAISE(ABORT, 'batch events are append-only'); END",
        ],
    )
)

MIGRATIONS.append(
    (
        "0013_reports_password_resets",
        [
            # A one-time link the office hands to a user who forgot their password: only its digest is stored.
            f"""CREATE TABLE password_resets (
                id INTEGER PRIMARY KEY,
                user_id INTEGER NOT NULL REFERENCES users (id),
                token_hash TEXT NOT NULL UNIQUE,
                created_by INTEGER REFERENCES users (id),
                created_at TEXT NOT NULL DEFAULT {NOW},
                expires_at TEXT NOT NULL,
                used_at TEXT
            )""",
            "CREATE INDEX password_resets_user ON password_resets (user_id)",
        ],
    )
)

MIGRATIONS.append(
    (
        "0014_labels_producer_marks",
        [
            # The producer's own logo, printed on its labels when present (a stored, re-encoded image's name).
            "ALTER TABLE producers ADD COLUMN logo TEXT",
            # The OCOP mark image (Quyết định 90/QĐ-OCOP) a producer uploads for a star level; printed on a label
            # only while the product's current recognition grants those stars.
            f"""CREATE TABLE ocop_marks (
                id INTEGER PRIMARY KEY,
                producer_id INTEGER NOT NULL REFERENCES producers (id),
                stars INTEGER NOT NULL CHECK (stars BETWEEN 3 AND 5),
                image TEXT NOT NULL,
                uploaded_at TEXT NOT NULL DEFAULT {NOW},
                UNIQUE (producer_id, stars)
            )""",
        ],
    )
)

# With PostgreSQL the nodes share their signing keys through the database (stamp_service/shared_keys.py): the
# sealed key files, encrypted with KEY_PASSPHRASE as on disk. SQLite keeps them in the key folder; the table
# exists there too, so the two schemas stay the same.
MIGRATIONS.append(
    (
        "0015_key_files",
        [
            f"""CREATE TABLE key_files (
                name TEXT PRIMARY KEY,
                content BLOB NOT NULL,
                digest TEXT NOT NULL,
                updated_at TEXT NOT NULL DEFAULT {NOW}
            )""",
        ],
    )
)

# Verification limits counted for all nodes at once (verification/throttle.py SharedThrottle, PostgreSQL); the
# embedded deployment counts in memory, the table stays empty there.
MIGRATIONS.append(
    (
        "0016_rate_counters",
        [
            """CREATE TABLE rate_counters (
                key TEXT NOT NULL,
                window_no INTEGER NOT NULL,
                n INTEGER NOT NULL DEFAULT 0,
                PRIMARY KEY (key, window_no)
            )""",
            "CREATE INDEX rate_counters_window ON rate_counters (window_no)",
        ],
    )
)

# The Vietnam day of a stored UTC time, in SQL: used only to back-fill the tallies below (new scans are counted
# in Python, stamp_service/verification/tallies.py, with the same rule).
_VN_DAY = "date(at, '+7 hours')"
# The verdicts whose banner is red (verdicts.TONE "bad") when this migration was written: the dashboard's
# "most suspicious stamps" count these per serial.
_BAD_TONE = ("'suspected-copy', 'recalled', 'certificate-expired', 'certificate-revoked', 'key-revoked',"
             " 'unknown-key', 'invalid-signature', 'malformed'")



def tally_backfill(vn_day: str) -> list[str]:
    """The tallies' back-fill from the scans already recorded, given the dialect's SQL for a time's Vietnam day
    (PostgreSQL's step 0017 runs the same statements)."""
    return [
        f"INSERT INTO scan_days SELECT {vn_day}, verdict, count(*) FROM scans GROUP BY 1, 2",
        f"INSERT INTO product_province_days SELECT {vn_day}, b.product_id, s.province_code, count(*) FROM scans s"
        " JOIN batches b ON b.id = s.batch_id WHERE s.province_code <> '' GROUP BY 1, 2, 3",
        f"INSERT INTO batch_scan_days SELECT batch_id, {vn_day}, verdict, count(*) FROM scans"
        " WHERE batch_id IS NOT NULL GROUP BY 1, 2, 3",
        "INSERT INTO serial_scans SELECT batch_id, serial, count(*) FROM scans"
        " WHERE batch_id IS NOT NULL AND serial IS NOT NULL GROUP BY 1, 2",
        f"INSERT INTO bad_serial_days SELECT {vn_day}, serial, verdict, count(*) FROM scans"
        f" WHERE serial IS NOT NULL AND verdict IN ({_BAD_TONE}) GROUP BY 1, 2, 3",
    ]

# The same in both dialects (PostgreSQL's step 0017 too). Indexes no query reads any more (EXPLAIN QUERY PLAN of
# each in tests/test_scale.py): scans by time, by run and time, by device and time; the tallies answer what the
# first two served. A third of a scan's bytes were these. Then the staff pages that walked a whole table: the
# dashboard's newest reports, a stamp's reports, a producer's open copy suspicions.
SCALE_INDEXES = [
    "DROP INDEX scans_at",
    "DROP INDEX scans_run_at",
    "DROP INDEX scans_device_at",
    "CREATE INDEX reports_at ON reports (at, id)",
    "CREATE INDEX reports_serial ON reports (serial)",
    "CREATE INDEX suspicions_batch ON suspicions (batch_id, status, at)",
]


MIGRATIONS.append(
    (
        "0017_scale_tallies_indexes",
        [
            # Staff pages read counts kept as scans are recorded (in the scan's own transaction), so they cost the
            # same at ten million scans as at ten thousand. One tally per question, so each page reads few rows:
            # a day's scans by verdict; located scans by product and province; a batch's; a stamp's; bad verdicts
            # by stamp. No key is ever NULL (NULLs are never equal: an upsert could not find its row).
            """CREATE TABLE scan_days (
                day TEXT NOT NULL,
                verdict TEXT NOT NULL,
                n INTEGER NOT NULL,
                PRIMARY KEY (day, verdict)
            ) WITHOUT ROWID""",
            """CREATE TABLE product_province_days (
                day TEXT NOT NULL,
                product_id INTEGER NOT NULL,
                province_code TEXT NOT NULL,
                n INTEGER NOT NULL,
                PRIMARY KEY (day, product_id, province_code)
            ) WITHOUT ROWID""",
            """CREATE TABLE batch_scan_days (
                batch_id INTEGER NOT NULL,
                day TEXT NOT NULL,
                verdict TEXT NOT NULL,
                n INTEGER NOT NULL,
                PRIMARY KEY (batch_id, day, verdict)
            ) WITHOUT ROWID""",
            """CREATE TABLE serial_scans (
                batch_id INTEGER NOT NULL,
                serial INTEGER NOT NULL,
                n INTEGER NOT NULL,
                PRIMARY KEY (batch_id, serial)
            ) WITHOUT ROWID""",
            "CREATE INDEX serial_scans_top ON serial_scans (batch_id, n, serial)",  # a batch's most-scanned stamps
            """CREATE TABLE bad_serial_days (
                day TEXT NOT NULL,
                serial INTEGER NOT NULL,
                verdict TEXT NOT NULL,
                n INTEGER NOT NULL,
                PRIMARY KEY (day, serial, verdict)
            ) WITHOUT ROWID""",
            *tally_backfill(_VN_DAY),
            *SCALE_INDEXES,
        ],
    )
)
