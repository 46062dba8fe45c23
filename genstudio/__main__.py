from genstudio.cli import main

if __name__ == "__main__":  # spawned job processes import this module without running the CLI
    main()
