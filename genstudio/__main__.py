from genstudio.cli import main

main()
