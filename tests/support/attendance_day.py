"""A big day's attendance, the same on every database: `python -m tests.support.attendance_day`
in a Plenum environment (a migrated, empty database) builds the attendance bench's day in small
(`bench/attendance.py`: people coming and going, their stays in the rooms) and prints the
attendance files and the chart's lines as one JSON line, for comparing SQLite with PostgreSQL.
"""

import argparse
import json
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "venue.settings")

import django  # noqa: E402

django.setup()

from bench.attendance import build_day  # noqa: E402
from frontend import attendance, attendance_chart, attendance_files  # noqa: E402


def main():
    conference, _organizer = build_day(argparse.Namespace(people=30, rows=600, hours=9, seed=17))
    data = attendance.report(conference)
    lines = attendance_chart.room_lines(conference, data["connections"], data["now"])[0]
    print(json.dumps({
        "files": {table: attendance_files.as_csv(conference, table) for table in attendance_files.TABLES},
        "lines": {line.key: [line.moments, line.counts] for line in lines},
    }))


if __name__ == "__main__":
    main()
